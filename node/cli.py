def main() -> None:
    print("bitcraps")
