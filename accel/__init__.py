"""bitcraps.accel"""
