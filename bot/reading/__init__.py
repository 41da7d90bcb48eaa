"""Reading: the targets and pace rules, the book catalog import, the flow that logs books and
outputs and reviews them (with the monthly nudge), the content a reader sends, the wording and
buttons of its screens, the reading sheet of an export.
"""
