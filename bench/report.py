"""Results: ratios, the JSON file, the PNG chart and the summary table in bench/README.md."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
TARGETS = ("gateway", "graphql", "floor", "eve")


def summary_ms(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "n": len(ordered),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not b.get("rps"):
        return None
    return round(a["rps"] / b["rps"], 3)


def ratios(scenarios: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Throughput ratios per scenario: gateway/floor, gateway/Eve, GraphQL/REST (1.0 = as fast)."""
    out = {}
    for name, by_target in scenarios.items():
        rest = by_target.get("gateway")
        out[name] = {
            "gateway/floor": _ratio(rest, by_target.get("floor")),
            "gateway/eve": _ratio(rest, by_target.get("eve")),
            "graphql/rest": _ratio(by_target.get("graphql"), rest),
        }
    return out


def _fmt(value: Any, spec: str = ".1f") -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run {results['date']} on {m['nproc']} CPU ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}; "
        f"`{results['command']}`; wrk {results['settings']['connections']} connections, "
        f"{results['settings']['duration']:g} s per figure, {results['settings']['workers']} worker(s) per server; "
        f"{results.get('main_dataset', {}).get('count', '?')} contacts.",
        "",
        "| scenario | target | req/s | p50 ms | p95 ms | p99 ms | non-2xx | vs floor | vs Eve |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, by_target in results["scenarios"].items():
        floor, eve = by_target.get("floor"), by_target.get("eve")
        for target in TARGETS:
            fig = by_target.get(target)
            if not fig:
                continue
            vs_floor = _ratio(fig, floor) if target in ("gateway", "graphql") else None
            vs_eve = _ratio(fig, eve) if target in ("gateway", "graphql") else None
            lines.append(
                f"| {scenario} | {target} | {_fmt(fig['rps'])} | {_fmt(fig['p50_ms'], '.2f')} "
                f"| {_fmt(fig['p95_ms'], '.2f')} "
                f"| {_fmt(fig['p99_ms'], '.2f')} | {fig['non_2xx']} | {_fmt(vs_floor, '.2f')} | {_fmt(vs_eve, '.2f')} |"
            )
    gql = [r["graphql/rest"] for r in results.get("ratios", {}).values() if r.get("graphql/rest")]
    if gql:
        lines += ["", f"GraphQL/REST throughput (same list): {gql[0]:.2f}."]
    hooks = results.get("webhooks")
    if hooks:
        lines += [
            "",
            "| webhooks | value |",
            "| --- | ---: |",
            f"| deliveries/s (receiver, under wrk create load) | {_fmt(hooks.get('deliveries_per_s'))} |",
            f"| delivered / acknowledged creates | {hooks.get('deliveries')} / {hooks.get('expected')} |",
            f"| write-to-delivery p50 / p99 ms, one write at a time | {_fmt(hooks['unloaded'].get('p50_ms'))} / "
            f"{_fmt(hooks['unloaded'].get('p99_ms'))} |",
            f"| write-to-delivery p50 / p99 ms, under load | {_fmt(hooks['loaded'].get('p50_ms'))} / "
            f"{_fmt(hooks['loaded'].get('p99_ms'))} |",
            "| create p50 with a post_save subscription minus without, ms "
            f"| {_fmt(hooks.get('write_overhead_p50_ms'), '.2f')} |",
            f"| create req/s with / without subscription | {_fmt(hooks.get('write_rps_ratio'), '.2f')} |",
        ]
    scale = results.get("scale")
    if scale:
        lines += [
            "",
            "| contacts | matching | gateway page 1 ms | gateway deep page ms | floor page 1 ms | floor deep page ms | "
            "filter pushdown | sort pushdown |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for size, row in scale.items():
            ex = row["explain"]
            origin = f" ({row['measured_in']})" if row.get("measured_in") else ""
            lines.append(
                f"| {int(size):,}{origin} | {row['matching']:,} | {_fmt(row['gateway_page1_ms'])} "
                f"| {_fmt(row['gateway_deep_ms'])} "
                f"(page {row['deep_page']}) | {_fmt(row.get('floor_page1_ms'))} | {_fmt(row.get('floor_deep_ms'))} | "
                f"{ex.get('filterPushdown')} | {ex.get('sortPushdown')} |"
            )
    if results.get("skipped"):
        lines += ["", "Skipped:"] + [f"- {k}: {v}" for k, v in results["skipped"].items()]
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    scale = results.get("scale") or {}
    panels = (2 if scenarios else 0) + (1 if scale else 0)
    if not panels:
        return
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), squeeze=False)
    axes = list(axes[0])
    names = list(scenarios)
    width = 0.2
    bars = (("rps", "requests/s (higher is better)"), ("p99_ms", "p99 ms (lower is better)")) if scenarios else ()
    for (metric, label), ax in zip(bars, axes, strict=False):
        for i, target in enumerate(TARGETS):
            values = [scenarios[s].get(target, {}).get(metric, 0) for s in names]
            ax.bar([x + (i - 1.5) * width for x in range(len(names))], values, width, label=target)
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_yscale("log")
        ax.set_title(label)
        ax.legend()
    if scale:
        ax = axes[-1]
        sizes = [int(s) for s in scale]
        for key in ("gateway_page1_ms", "gateway_deep_ms", "floor_page1_ms", "floor_deep_ms"):
            points = [(s, scale[str(s)].get(key)) for s in sizes]
            points = [(s, v) for s, v in points if isinstance(v, int | float)]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=key.removesuffix("_ms"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("contacts")
        ax.set_title("list filter+sort latency vs size (ms)")
        ax.legend()
    fig.suptitle(f"HARi gateway bench {results['date']} ({results['machine']['nproc']} CPU)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: dict[str, Any], directory: Path, stamp: str, readme: bool = True) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{stamp}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    png_path = directory / f"{stamp}.png"
    chart(results, png_path)
    paths = [json_path, png_path] if png_path.exists() else [json_path]
    if readme and README.exists():
        text = README.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            chart_link = f"[`results/{png_path.name}`](results/{png_path.name})"
            body = f"{table(results)}\n\nChart: {chart_link}, raw figures: `results/{json_path.name}`."
            README.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}")
            paths.append(README)
    return paths
