"""The benchmark's figure parsing: wrk's output, the `name value unit` lines, the results table."""

from __future__ import annotations

import pytest

from bench import wrk
from bench.figures import Figure, Results, parse_line, parse_lines
from bench.targets import ROWS, met, table

WRK_HEAD = """Running 25s test @ http://127.0.0.1:34399/api/missions
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   214.58ms  172.73ms   1.22s    87.51%
    Req/Sec    24.31     14.13    60.00     44.02%
  Latency Distribution
     50%  155.34ms
     75%  239.54ms
     90%  426.12ms
     99%  866.73ms
  1069 requests in 25.06s, 1.61MB read
"""
WRK_ERRORS = """  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:     42.66
Transfer/sec:     65.73KB
"""
BENCH_LINES = """BENCH requests 1069
BENCH duration_us 25056302
BENCH errors_connect 0
BENCH errors_read 2
BENCH errors_write 0
BENCH errors_status 7
BENCH errors_timeout 3
BENCH p50_us 155343
BENCH p90_us 426116
BENCH p95_us 592429
BENCH p99_us 866735
BENCH max_us 1218736
BENCH status_503 5
BENCH status_429 2
"""


def test_wrk_durations_in_every_unit_become_milliseconds():
    assert wrk.to_ms("850.00us") == pytest.approx(0.85)
    assert wrk.to_ms("1.23ms") == pytest.approx(1.23)
    assert wrk.to_ms("2.00s") == pytest.approx(2000)
    assert wrk.to_ms("1.00m") == pytest.approx(60000)
    with pytest.raises(ValueError):
        wrk.to_ms("fast")


def test_latency_distribution_is_read_from_wrk_latency_table():
    assert wrk.parse_distribution(WRK_HEAD) == pytest.approx({50: 155.34, 75: 239.54, 90: 426.12, 99: 866.73})


def test_p95_and_errors_come_from_the_lua_done_hook_when_present():
    result = wrk.parse_output(WRK_HEAD + WRK_ERRORS + BENCH_LINES)
    assert result.requests == 1069
    assert result.p50_ms == pytest.approx(155.343)
    assert result.p95_ms == pytest.approx(592.429)
    assert result.p99_ms == pytest.approx(866.735)
    assert result.max_ms == pytest.approx(1218.736)
    assert result.rps == pytest.approx(1069 / 25.056302)
    assert result.errors == 12 and result.non_2xx == 7
    assert result.statuses == {503: 5, 429: 2}
    # 7 non-2xx answers are among the 1069 requests; 5 socket errors got no answer at all.
    assert result.error_rate == pytest.approx(12 / 1074)


def test_plain_wrk_output_still_parses_with_p95_interpolated():
    result = wrk.parse_output(WRK_HEAD + WRK_ERRORS)
    assert result.requests == 1069
    assert result.rps == pytest.approx(42.66)
    assert result.p50_ms == pytest.approx(155.34)
    assert 426.12 < result.p95_ms < 866.73
    assert result.max_ms == pytest.approx(1220)
    assert result.errors == 12


def test_output_without_figures_is_rejected():
    with pytest.raises(ValueError):
        wrk.parse_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_figure_lines_round_trip_including_not_measured():
    assert Figure("enqueue.brain.rps", 1234.5, "req/s").line() == "enqueue.brain.rps 1234.5 req/s"
    assert Figure("enqueue.brain.errors", 0.0, "count").line() == "enqueue.brain.errors 0 count"
    assert Figure("governor.cache_hit_rate", None, "%").line() == "governor.cache_hit_rate n/a %"
    assert parse_line("e2e.peer.missions_per_s 575.702 missions/s") == Figure(
        "e2e.peer.missions_per_s", 575.702, "missions/s"
    )
    assert parse_line("governor.cache_hit_rate n/a %").value is None
    with pytest.raises(ValueError):
        parse_line("bench: enqueue (09:41:08)")


def test_a_run_stdout_yields_every_figure_and_skips_other_lines(capsys):
    res = Results()
    res.add("enqueue.brain.p95", 12.3456, "ms")
    res.add("enqueue.rps_ratio", None, "%")
    out = capsys.readouterr().out
    figures = parse_lines("bench: starting\n" + out + "| a | b |\n")
    assert set(figures) == {"enqueue.brain.p95", "enqueue.rps_ratio"}
    assert figures["enqueue.brain.p95"].value == pytest.approx(12.346)
    assert figures["enqueue.rps_ratio"].value is None


def test_results_table_marks_targets_met_missed_or_not_measured():
    figures = {
        "enqueue.brain.rps": Figure("enqueue.brain.rps", 800, "req/s"),
        "enqueue.peer.rps": Figure("enqueue.peer.rps", 1000, "req/s"),
        "enqueue.rps_ratio": Figure("enqueue.rps_ratio", 80, "%"),
        "enqueue.brain.p95": Figure("enqueue.brain.p95", 61, "ms"),
    }
    rows = {row.label: row for row in ROWS}
    assert met(rows["enqueue req/s (32 conns)"], figures) == "yes"
    assert met(rows["enqueue p95 ms"], figures) == "no"
    assert met(rows["GET /api/missions/{id} p95 ms"], figures) == "n/a"
    assert met(rows["enqueue p50 ms"], figures) == "—"
    rendered = table(figures)
    assert "| enqueue req/s (32 conns) | 800 | 1000 | 80% | ≥ 70% of peer | yes |" in rendered
