"""Smoke test of `tokenbench all --quick`: every scenario runs end to end, the JSON has the documented
fields, and the latency plot parses as SVG with its two axes and one series per plotted scenario.

Environment: TOKENBENCH_BINARY names the executable; TOKEN_REDIS_URL, a Redis server for the Redis
scenarios (required when CI is set). No speed is asserted.
"""
import json
import os
import subprocess

import pytest
import svgelements

SCENARIOS = [
    "sign.raw", "verify.raw", "mint", "verify.local", "verify.mirror", "verify.warm", "verify.warm.cores",
    "verify.zipf", "verify.pause", "session.redis", "validate.rpc", "issue.rpc", "refresh.rpc", "revoke.rpc",
    "redis.set", "issue.rpc.redis", "refresh.rpc.redis", "revoke.rpc.redis", "propagation", "key.propagation",
    "propagation.redis", "propagation.1000", "validator.ready", "gate.auth", "gate.propagation", "memory",
    "memory.cache",
]
LATENCY_ONLY = [
    "propagation", "key.propagation", "propagation.redis", "propagation.1000", "validator.ready", "gate.propagation",
]
MEMORY = ["memory", "memory.cache"]
PLOTTED = ["verify.local", "verify.warm", "validate.rpc", "session.redis"]
REDIS_URL = os.environ.get("TOKEN_REDIS_URL")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    binary = os.environ.get("TOKENBENCH_BINARY")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail(f"$TOKENBENCH_BINARY must name an executable (got {binary!r})")
    if not REDIS_URL:
        pytest.fail("$TOKEN_REDIS_URL must name the Redis server of the Redis scenarios")
    directory = tmp_path_factory.mktemp("bench")
    json_file = directory / "all.json"
    run = subprocess.run(
        [binary, "all", "--quick", "--redis", REDIS_URL, "--json", str(json_file), "--report",
         str(directory / "report")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return directory, json_file, run.stdout


def test_every_scenario_reports_its_figures(report):
    _, json_file, stdout = report
    results = json.loads(json_file.read_text())
    assert results["machine"]["cores"] >= 1
    assert results["machine"]["openssl"].startswith("OpenSSL")
    by_name = {scenario["name"]: scenario for scenario in results["scenarios"]}
    assert list(by_name) == SCENARIOS
    for name in SCENARIOS:
        assert name in stdout
    timed = [name for name in SCENARIOS if name not in MEMORY]
    for name in timed:
        if name not in LATENCY_ONLY:
            assert by_name[name]["ops_per_s"] > 0, name
    for name in timed:
        scenario = by_name[name]
        assert 0 < scenario["p50_us"] <= scenario["p99_us"] <= scenario["p999_us"] <= scenario["max_us"], name
    for name, baseline in [("mint", "sign.raw"), ("verify.local", "verify.raw"), ("verify.mirror", "verify.raw"),
                           ("verify.warm", "verify.raw"), ("verify.warm.cores", "verify.warm"),
                           ("verify.zipf", "verify.warm.cores"), ("session.redis", "verify.warm"),
                           ("revoke.rpc.redis", "redis.set"), ("gate.auth", "gate /healthz")]:
        assert by_name[name]["baseline"] == baseline
        assert by_name[name]["ratio"] > 0
    assert by_name["validate.rpc"]["baseline"].startswith("verify.raw ×")
    for name in LATENCY_ONLY:
        assert "ops_per_s" not in by_name[name], name
    assert 0 <= by_name["verify.zipf"]["hit_rate"] <= 1
    for name in MEMORY:
        assert 16 <= by_name[name]["bytes_per_entry"] <= 1000, name
        assert "ratio" not in by_name[name]
    assert "ops_per_s" not in by_name["key.propagation"]
    assert "ops_per_s" not in by_name["gate.propagation"]
    # The server's memory per idle watch stream: some, and far below what a validator holds.
    assert 0 < by_name["propagation.1000"]["bytes_per_watcher"] < 1 << 20
    assert "1000 streams" in by_name["propagation.1000"]["note"]
    assert "instance B" in by_name["propagation.redis"]["note"]
    ready = by_name["validator.ready"]
    assert 0 < ready["seconds"] <= ready["max_us"] / 1e6 * 1.001
    # Each revocation of the snapshot crosses the wire as a token id and its times.
    assert 16 <= ready["bytes_per_entry"] <= 1000


def test_results_json_in_the_report_matches(report):
    directory, json_file, _ = report
    assert json.loads((directory / "report" / "results.json").read_text()) == json.loads(json_file.read_text())


def test_latency_plot_has_axes_and_one_series_per_scenario(report):
    directory, _, _ = report
    svg = svgelements.SVG.parse(str(directory / "report" / "latency.svg"))
    assert (svg.width, svg.height) == (760, 460)
    groups = {element.id: element for element in svg.elements() if isinstance(element, svgelements.Group)}
    x_axis, y_axis = groups["x-axis"], groups["y-axis"]
    x_ticks = [element for element in x_axis if isinstance(element, svgelements.Text)]
    assert [tick.text for tick in x_ticks][:5] == ["50%", "90%", "99%", "99.9%", "99.99%"]
    x_positions = [tick.x for tick in x_ticks[:5]]
    assert x_positions == sorted(x_positions)
    y_ticks = [element for element in y_axis if isinstance(element, svgelements.Text) and element.text[0].isdigit()]
    assert len(y_ticks) >= 2
    # Powers of ten, evenly spaced: a log scale.
    values = [float(tick.values["data-value"]) for tick in y_ticks]
    assert all(abs(later / earlier - 10) < 1e-9 for earlier, later in zip(values, values[1:]))
    gaps = [earlier.y - later.y for earlier, later in zip(y_ticks, y_ticks[1:])]
    assert max(gaps) - min(gaps) < 0.01
    plot_left, plot_right = x_positions[0], x_positions[4]
    plot_top, plot_bottom = min(tick.y for tick in y_ticks) - 10, max(tick.y for tick in y_ticks)
    series = [element for element in svg.elements() if isinstance(element, svgelements.Polyline)]
    assert [line.values["data-name"] for line in series] == PLOTTED
    for line in series:
        points = list(line.points)
        assert len(points) > 10
        xs = [point.x for point in points]
        ys = [point.y for point in points]
        assert xs == sorted(xs), line.values["data-name"]
        # Latency never falls as the percentile rises (y grows downwards).
        assert all(later <= earlier + 1e-6 for earlier, later in zip(ys, ys[1:])), line.values["data-name"]
        assert plot_left - 0.5 <= xs[0] and xs[-1] <= plot_right + 0.5
        assert all(plot_top <= y <= plot_bottom + 5 for y in ys)
