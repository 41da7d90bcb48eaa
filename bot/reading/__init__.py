"""Reading: the targets and pace rules, the book catalog import, the flow that logs books and
outputs, the reading sheet of an export.
"""
