"""bitcraps.transports"""
