"""Activities: the roll-call rules, scheduling group activities, the schedule import, roll call,
the attendance sheet of an export.
"""
