#!/usr/bin/python3
"""One `vdirsyncer ARGS...` run under cProfile, imports included; prints one JSON line of where its time went.

    vdirsyncer_profile.py -c CONFIG sync PAIR
    vdirsyncer_profile.py --import-only MODULE...


Seconds (profiled, so Python-heavy parts are inflated by the profiler; compare shares, not absolutes):
total, imports (every module load), wait (the event loop blocked in epoll: the server's time plus loopback),
xml (parsing the multistatus), responses (walking its responses: hrefs, etags, content types), status (the
sqlite status database), local (listing the local vdir), and the rest (click, config, the sync algorithm, ...);
`modules` lists what the run imported, for --import-only to time the same imports without the profiler.
"""
import cProfile
import json
import pstats
import sys
import time

if sys.argv[1:2] == ["--import-only"]:
    # Start-up without the profiler: importing, in order, the modules a profiled sync loaded.
    import importlib

    t0 = time.perf_counter()
    for name in sys.argv[2:]:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    print(json.dumps({"imports": time.perf_counter() - t0}))
    sys.exit(0)

sys.argv = ["vdirsyncer"] + sys.argv[1:]
before = set(sys.modules)
profile = cProfile.Profile()
t0 = time.perf_counter()
profile.enable()
try:
    from vdirsyncer.cli import main

    main()
except SystemExit:
    pass
profile.disable()
total = time.perf_counter() - t0
loaded = [m for m in sys.modules if m not in before and not m.startswith("__")]

stats = pstats.Stats(profile).stats  # (file, line, function) -> (primitive calls, calls, tottime, cumtime, callers)


def cum(pred):
    return sum(v[3] for k, v in stats.items() if pred(*k))


def own(pred):
    return sum(v[2] for k, v in stats.items() if pred(*k))


parts = {
    "imports": cum(lambda f, l, n: n == "_find_and_load"),
    "wait": own(lambda f, l, n: "select.epoll" in n or "select.select" in n),
    "xml": cum(lambda f, l, n: f.endswith("ElementTree.py") and n == "XML"),
    "responses": cum(lambda f, l, n: f.endswith("storage/dav.py") and n == "_parse_prop_responses"),
    "status": own(lambda f, l, n: "sqlite3" in n),
    "local": cum(lambda f, l, n: f.endswith("storage/filesystem.py") and n == "list"),
}
parts["rest"] = max(0.0, total - sum(parts.values()))
print(json.dumps({"total": total, **parts, "modules": loaded}))
