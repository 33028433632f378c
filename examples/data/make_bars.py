#!/usr/bin/env python3
# Writes bars.csv: 300 daily OHLCV bars for two symbols, a seeded random walk (seed 7), so
# examples/05-backtest prints the same trades and P&L on every run. The CSV is committed;
# this script only documents how it was made: python3 make_bars.py > bars.csv
import datetime
import random

rng = random.Random(7)
symbols = {"AAA": 180.00, "BBB": 370.00}
day = datetime.date(2024, 1, 2)
print("date,symbol,open,high,low,close,volume")
for _ in range(300):
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    for sym, last in symbols.items():
        open_ = last * (1 + rng.gauss(0, 0.004))
        close = open_ * (1 + rng.gauss(0.0003, 0.015))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.005)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.005)))
        volume = int(rng.lognormvariate(15, 0.4))
        print(f"{day.isoformat()},{sym},{open_:.2f},{high:.2f},{low:.2f},{close:.2f},{volume}")
        symbols[sym] = close
    day += datetime.timedelta(days=1)
