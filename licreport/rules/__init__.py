"""Pure calculations: proration, pricing, shortfall sharing, replay and balances."""
