"""Members: the roster import, registration with invite codes, the printable invites, HR's member
administration, the roster sheet of an export.
"""
