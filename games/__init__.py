"""bitcraps.games"""
