"""bitcraps.consensus"""
