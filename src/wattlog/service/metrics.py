"""Prometheus text exposition of a running service, framework-free: the web app mounts it at /metrics.

    body, content_type = render(service)

From the live state: each quantity of each meter's latest reading as a gauge (energy counters as
counters) with site, meter and location labels. From the pollers: per bus requests, errors by kind,
timeouts, a request-latency histogram and the seconds the bus was busy (utilisation is
rate(wattlog_bus_busy_seconds_total[5m])). From the spool and sinks: readings spooled and
delivered per sink. Names follow Prometheus conventions: base unit in the name, `_total` on
counters; energy is in watt-hours (kWh × 1000) so real, apparent and reactive energy read alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from ..polling.bus import LATENCY_BUCKETS
from ..quantities import QUANTITIES

# canonical unit -> (name suffix, factor to that unit)
UNITS: dict[str, tuple[str, float]] = {
    "V": ("volts", 1.0), "A": ("amperes", 1.0), "W": ("watts", 1.0), "VA": ("volt_amperes", 1.0),
    "var": ("vars", 1.0), "Hz": ("hertz", 1.0), "": ("ratio", 1.0),
    "kWh": ("watt_hours", 1000.0), "kVAh": ("volt_ampere_hours", 1000.0), "kvarh": ("var_hours", 1000.0),
}
# The text format generate_latest writes; every Prometheus (2.x and 3.x) reads it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ERROR_KINDS = (("timeout", "no_answer"), ("bad_frame", "bad_frames"), ("refused", "refused"), ("link", "link_errors"))


def metric_name(quantity: str, unit: str) -> tuple[str, float]:
    """('wattlog_voltage_l1_volts', 1.0); a model's own unit outside the table gives no suffix."""
    suffix, factor = UNITS.get(unit, ("", 1.0))
    return f"wattlog_{quantity}" + (f"_{suffix}" if suffix else ""), factor


class ServiceCollector:
    """Reads the service's state at each scrape; holds nothing itself."""

    def __init__(self, service: Any) -> None:
        self.svc = service

    def collect(self) -> Iterator[Metric]:
        yield from self._readings()
        yield from self._buses()
        yield from self._sinks()

    def _readings(self) -> Iterator[Metric]:
        svc, site = self.svc, self.svc.cfg.site
        families: dict[str, Metric] = {}
        labels = ["site", "meter", "location"]
        stamp = GaugeMetricFamily("wattlog_reading_timestamp_seconds", "Time of the meter's latest reading.", labels=labels)
        up = GaugeMetricFamily("wattlog_meter_up", "1 while the meter answers, 0 when it does not.", labels=labels)
        statuses = svc.statuses
        for m in svc.cfg.meters:
            values = [site, m.name, m.location]
            st = statuses.get(m.name)
            if st is not None and st.state != "new":
                up.add_metric(values, 1.0 if st.state in ("ok", "degraded") else 0.0)
            reading = svc.live.latest(m.name)
            if reading is None:
                continue
            stamp.add_metric(values, reading.timestamp.timestamp())
            for q, value in reading.values.items():
                reg = m.model.by_name.get(q)
                unit = QUANTITIES[q].unit if q in QUANTITIES else (reg.unit if reg else "")
                kind = reg.kind if reg else (QUANTITIES[q].kind if q in QUANTITIES else "instantaneous")
                name, factor = metric_name(q, unit)
                if name not in families:
                    label = QUANTITIES[q].label if q in QUANTITIES else q
                    doc = f"{label} ({unit or 'ratio'}{' x 1000' if factor != 1 else ''}) of the latest reading."
                    cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
                    families[name] = cls(name, doc, labels=labels)
                families[name].add_metric(values, value * factor)
        yield from families.values()
        yield stamp
        yield up

    def _buses(self) -> Iterator[Metric]:
        labels = ["site", "bus"]
        requests = CounterMetricFamily("wattlog_bus_requests", "Modbus requests sent.", labels=labels)
        errors = CounterMetricFamily("wattlog_bus_errors", "Failed requests by kind.", labels=[*labels, "kind"])
        timeouts = CounterMetricFamily("wattlog_bus_timeouts", "Requests with no answer in time.", labels=labels)
        busy = CounterMetricFamily("wattlog_bus_busy_seconds", "Seconds the bus was busy or held silent.", labels=labels)
        missed = CounterMetricFamily("wattlog_bus_missed_cycles", "Poll cycles skipped: the bus was too slow.",
                                     labels=labels)
        reconnects = CounterMetricFamily("wattlog_bus_reconnects", "Times the link came back.", labels=labels)
        cycle = GaugeMetricFamily("wattlog_bus_last_cycle_seconds", "Duration of the last poll cycle.", labels=labels)
        latency = HistogramMetricFamily("wattlog_bus_request_duration_seconds",
                                        "Time from a request to its answer (or its timeout).", labels=labels)
        site = self.svc.cfg.site
        for p in self.svc.pollers:
            st, values = p.stats, [site, p.bus]
            requests.add_metric(values, st.requests)
            for kind, attr in ERROR_KINDS:
                errors.add_metric([*values, kind], getattr(st, attr))
            timeouts.add_metric(values, st.no_answer)
            busy.add_metric(values, st.bus_seconds)
            missed.add_metric(values, st.missed_cycles)
            reconnects.add_metric(values, st.reconnects)
            cycle.add_metric(values, st.last_cycle_seconds)
            running, buckets = 0, []
            for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], st.latency_counts):
                running += count
                buckets.append((bound, running))
            latency.add_metric(values, buckets, st.latency_sum)
        yield from (requests, errors, timeouts, busy, missed, reconnects, cycle, latency)

    def _sinks(self) -> Iterator[Metric]:
        site = self.svc.cfg.site
        spooled = CounterMetricFamily("wattlog_readings_spooled", "Readings written to the spool since the start.",
                                      labels=["site"])
        spooled.add_metric([site], self.svc.spooled)
        delivered = CounterMetricFamily("wattlog_sink_readings_delivered",
                                        "Readings a sink took off the spool since the start.", labels=["site", "sink"])
        up = GaugeMetricFamily("wattlog_sink_up", "1 while the sink takes readings, 0 while it is down.",
                               labels=["site", "sink"])
        for w in self.svc.workers:
            delivered.add_metric([site, w.sink.name], w.delivered)
            up.add_metric([site, w.sink.name], 0.0 if w.state == "down" else 1.0)
        start = GaugeMetricFamily("wattlog_start_time_seconds", "When the service started.", labels=["site"])
        start.add_metric([site], self.svc.started.timestamp())
        yield from (spooled, delivered, up, start)
        disk = getattr(self.svc, "disk", None)  # issue 14: the data folder's disk, as of the last check
        if disk is not None and disk.last is not None:
            used = GaugeMetricFamily("wattlog_disk_used_ratio", "Used share of the disk holding the data folder "
                                     "(the service warns from 0.8).", labels=["site"])
            used.add_metric([site], disk.last.used)
            yield used


def render(service: Any) -> tuple[bytes, str]:
    """The exposition body and its Content-Type header value."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE
