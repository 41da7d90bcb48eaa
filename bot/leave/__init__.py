"""Leave: the routing and cutoff rules, the flow that asks, decides and withdraws, the leave sheet
of an export.
"""
