"""Activity reports: the deadline rules, the flow from draft to HR's copy, the reports sheet of an
export.
"""
