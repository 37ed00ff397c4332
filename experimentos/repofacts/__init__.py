"""repofacts"""
