"""``pyapp`` commands that work with one package or checkout: init, validate, inspect, verify, run,
command -- and the library behind them (running a checkout as a host would, serving it)."""
