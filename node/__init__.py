"""bitcraps.node"""
