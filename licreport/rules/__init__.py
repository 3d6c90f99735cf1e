"""Pure calculations: proration, pricing, shortfall sharing, replay and balances.

The choices the command line offers are named here, where `cli` reads them before
the rules (and pandas) are imported."""

DEFAULT_HORIZON = 3  # months the outlook covers (`outlook`, SPEC §7)
MAX_HORIZON = 12
POLICIES = ("priority", "smallest-first", "proportional")  # how a shortfall is shared
