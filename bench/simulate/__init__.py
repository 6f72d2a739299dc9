"""The promise simulator (issue 18, item 7): a seeded shop driven through its real services.

`make simulate` (`python -m bench.simulate`): `world` draws the suppliers, their habits and the
catalog; `days` runs each simulated day through the shop's services; `report` reads back what was
promised and what happened and measures it; `plot` draws promised against actual. docs/dates.md,
"Measuring the promises".
"""
