"""Home Assistant MQTT discovery: the config messages that make every meter a device in HA.

One device per meter (model, manufacturer, its location as the suggested area, a link to the
wattlog page), one sensor per quantity with HA's device_class, unit and state_class (energy
counters `total_increasing`, so the Energy dashboard takes them as they are), and one
"site" device with each location's kWh today. Every entity is available only while the service
is online AND its meter answers (availability_mode "all"). Pure functions: sinks/mqtt.py
publishes what they return.

Topics: <discovery_prefix>/sensor/wattlog_<site>/<object>/config, retained. A meter removed from
the config is removed from HA by publishing an empty retained config for each of its objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..quantities import QUANTITIES

# HA's sensor device classes for our canonical units (homeassistant/components/sensor/const.py,
# DEVICE_CLASS_UNITS); apparent energy (kVAh) has none in HA, so it is a plain total_increasing sensor.
DEVICE_CLASS_BY_UNIT = {
    "V": "voltage", "A": "current", "W": "power", "VA": "apparent_power", "var": "reactive_power",
    "Hz": "frequency", "kWh": "energy", "kvarh": "reactive_energy",
}
ORIGIN = {"name": "wattlog"}  # who published the config (HA shows it on the device page)


@dataclass(frozen=True)
class MeterInfo:
    """What discovery needs to know about one configured meter."""

    name: str
    model: str  # the definition's model id, e.g. rx380
    model_name: str  # e.g. Mikro RX380
    manufacturer: str
    location: str
    quantities: tuple[tuple[str, str, str], ...]  # (name, unit, kind) in vocabulary order


def node_id(site: str) -> str:
    """The discovery node id: HA allows [a-zA-Z0-9_-] only."""
    return "wattlog_" + re.sub(r"[^a-zA-Z0-9_-]", "_", site)


def meter_availability_topic(base: str, meter: str) -> str:
    """PREFIX/SITE/METER/availability: "online" while the meter answers, "offline" when it does not."""
    return f"{base}/{meter}/availability"


def location_topic(base: str, location: str, what: str = "energy_today") -> str:
    """PREFIX/SITE/location/LOC/energy_today (or cost_month)."""
    return f"{base}/location/{re.sub(r'[^a-zA-Z0-9_-]', '_', location)}/{what}"


def sensor_fields(name: str, unit: str, kind: str) -> dict[str, Any]:
    """device_class, unit_of_measurement and state_class of one quantity."""
    out: dict[str, Any] = {}
    if name.endswith("power_factor"):
        out["device_class"] = "power_factor"  # unitless ratio: HA takes no unit for it
    elif unit in DEVICE_CLASS_BY_UNIT:
        out["device_class"] = DEVICE_CLASS_BY_UNIT[unit]
    if unit:
        out["unit_of_measurement"] = unit
    out["state_class"] = "total_increasing" if kind == "counter" else "measurement"
    return out


def _label(name: str) -> str:
    q = QUANTITIES.get(name)
    return q.label if q else name.replace("_", " ").capitalize()


def meter_configs(base: str, site: str, meters: list[MeterInfo], dashboard_url: str = "",
                  sw_version: str = "") -> dict[str, dict[str, Any]]:
    """{object_id: config payload} for every quantity of every meter. `base` is PREFIX/SITE."""
    out: dict[str, dict[str, Any]] = {}
    node = node_id(site)
    for m in meters:
        device: dict[str, Any] = {
            "identifiers": [f"{node}_{m.name}"],
            "name": f"{m.name} ({site})",
            "manufacturer": m.manufacturer or "unknown",
            "model": m.model_name or m.model,
            "model_id": m.model,
            "suggested_area": m.location,
        }
        if dashboard_url:
            device["configuration_url"] = f"{dashboard_url.rstrip('/')}/meters/{m.name}"
        if sw_version:
            device["sw_version"] = sw_version
        for q, unit, kind in m.quantities:
            object_id = f"{m.name}_{q}"
            out[object_id] = {
                "name": _label(q),
                "unique_id": f"{node}_{object_id}",
                "state_topic": f"{base}/{m.name}",
                # The JSON carries the timestamp; a quantity absent from a reading renders None ("unknown").
                "value_template": f"{{{{ value_json['values']['{q}'] | default(None) }}}}",
                "availability": [{"topic": f"{base}/status"},
                                 {"topic": meter_availability_topic(base, m.name)}],
                "availability_mode": "all",
                **sensor_fields(q, unit, kind),
                "device": device,
                "origin": ORIGIN,
                "qos": 1,
            }
    return out


def location_configs(base: str, site: str, locations: list[str], dashboard_url: str = "",
                     currency: str = "") -> dict[str, dict[str, Any]]:
    """{object_id: config} for each location's kWh today (and this month's cost when the site has a
    tariff in `currency`), on one device for the site."""
    node = node_id(site)
    device: dict[str, Any] = {"identifiers": [f"{node}_site"], "name": f"wattlog {site}", "manufacturer": "wattlog",
                              "model": "wattlog site"}
    if dashboard_url:
        device["configuration_url"] = dashboard_url
    out: dict[str, dict[str, Any]] = {}
    for loc in locations:
        object_id = "location_" + re.sub(r"[^a-zA-Z0-9_]", "_", loc) + "_energy_today"
        out[object_id] = {
            "name": f"{loc} energy today",
            "unique_id": f"{node}_{object_id}",
            "state_topic": location_topic(base, loc),
            "value_template": "{{ value_json.kwh }}",
            "availability": [{"topic": f"{base}/status"}],
            "availability_mode": "all",
            # Resets at local midnight: total_increasing reads a drop as a new cycle.
            "device_class": "energy", "unit_of_measurement": "kWh", "state_class": "total_increasing",
            "device": device,
            "origin": ORIGIN,
            "qos": 1,
        }
        if currency:
            cost_id = "location_" + re.sub(r"[^a-zA-Z0-9_]", "_", loc) + "_cost_month"
            out[cost_id] = {
                "name": f"{loc} cost this month",
                "unique_id": f"{node}_{cost_id}",
                "state_topic": location_topic(base, loc, "cost_month"),
                "value_template": "{{ value_json.amount }}",
                "availability": [{"topic": f"{base}/status"}],
                "availability_mode": "all",
                "device_class": "monetary", "unit_of_measurement": currency, "state_class": "total",
                "device": device,
                "origin": ORIGIN,
                "qos": 1,
            }
    return out


def config_topic(discovery_prefix: str, site: str, object_id: str) -> str:
    return f"{discovery_prefix}/sensor/{node_id(site)}/{object_id}/config"


def object_of(topic: str) -> str:
    """The object id in a config topic (the level before /config)."""
    return topic.rsplit("/", 2)[-2]


def meter_online(state: str) -> bool | None:
    """A poller status state as HA availability: None while not yet known."""
    if state in ("ok", "degraded"):
        return True
    if state in ("failing", "offline", "bus down"):
        return False
    return None
