"""The words argparse writes itself ("usage: ", "options", its error sentences),
listed so that `make i18n` extracts them into our catalog (README "Languages").

argparse translates them with Python's `gettext.gettext`, which reads the process's
default text domain; `node.i18n.speaking_to_argparse` binds that domain to our catalog,
so these msgids must be spelled exactly as argparse spells them (Python 3.11). Its
plural messages ("expected %s arguments") only arise for `nargs=N > 1`, which no
command uses, and its programming errors (a conflicting option) never reach a reader.
"""

from __future__ import annotations

from typing import Final

from node.i18n import N_

WORDS: Final = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
)
