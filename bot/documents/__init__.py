"""Documents in and out: files users send, tables read from .csv/.xlsx, the import runner, the
export writer, charts.
"""
