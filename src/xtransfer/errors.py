"""The one exception type for mistakes a user can make.

The CLI turns a ``UserError`` into a single line on stderr and exit status 2; anything else is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input (unknown name, missing file, malformed row, bad override): one clear sentence."""
