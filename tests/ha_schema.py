"""A documented subset of Home Assistant's MQTT sensor discovery schema, to check payloads field by field.

Transcribed (December 2026) from home-assistant/core: homeassistant/components/mqtt/sensor.py
(PLATFORM_SCHEMA_MODERN), mqtt/schemas.py and mqtt/entity.py (MQTT_ENTITY_COMMON_SCHEMA, the
availability, device and origin schemas), homeassistant/components/sensor/const.py
(DEVICE_CLASS_UNITS, DEVICE_CLASS_STATE_CLASSES) and the MQTT sensor page of the HA docs. Only the
keys and device classes wattlog can produce are listed with their allowed values; any other key
is rejected, as HA would ignore or refuse it.
"""

from __future__ import annotations

from typing import Any

SENSOR_KEYS = {
    "name", "unique_id", "state_topic", "value_template", "unit_of_measurement", "device_class", "state_class",
    "availability", "availability_topic", "availability_mode", "availability_template", "payload_available",
    "payload_not_available", "device", "origin", "qos", "encoding", "expire_after", "force_update", "icon",
    "json_attributes_topic", "json_attributes_template", "entity_category", "enabled_by_default",
    "suggested_display_precision", "last_reset_value_template", "object_id", "default_entity_id", "platform",
    "options", "entity_picture",
}
REQUIRED = {"state_topic"}
DEVICE_KEYS = {"configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model",
               "model_id", "name", "serial_number", "suggested_area", "sw_version", "via_device"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
AVAILABILITY_KEYS = {"topic", "payload_available", "payload_not_available", "value_template"}
AVAILABILITY_MODES = {"all", "any", "latest"}
STATE_CLASSES = {"measurement", "total", "total_increasing"}

# device class -> (allowed units, allowed state classes); None stands for "no unit".
DEVICE_CLASSES: dict[str, tuple[set[str | None], set[str]]] = {
    "voltage": ({"V", "mV", "µV", "kV", "MV"}, {"measurement"}),
    "current": ({"A", "mA"}, {"measurement"}),
    "power": ({"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"}, {"measurement"}),
    "apparent_power": ({"mVA", "VA", "kVA"}, {"measurement"}),
    "reactive_power": ({"mvar", "var", "kvar"}, {"measurement"}),
    "power_factor": ({"%", None}, {"measurement"}),
    "frequency": ({"Hz", "kHz", "MHz", "GHz"}, {"measurement"}),
    "energy": ({"mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal"},
               {"total", "total_increasing"}),
    "reactive_energy": ({"varh", "kvarh"}, {"total", "total_increasing"}),
    "monetary": (set(), {"total"}),  # any ISO 4217 code
}


def problems(payload: dict[str, Any]) -> list[str]:
    """Every way `payload` breaks the schema above; empty when it is valid."""
    out = [f"unknown key {k!r}" for k in payload if k not in SENSOR_KEYS]
    out += [f"missing {k!r}" for k in REQUIRED if not payload.get(k)]
    for key in ("name", "unique_id", "state_topic", "value_template", "unit_of_measurement"):
        if key in payload and not isinstance(payload[key], str):
            out.append(f"{key} must be a string")
    if "#" in payload.get("state_topic", "") or "+" in payload.get("state_topic", ""):
        out.append("state_topic must not hold wildcards")
    dc, unit, sc = payload.get("device_class"), payload.get("unit_of_measurement"), payload.get("state_class")
    if sc is not None and sc not in STATE_CLASSES:
        out.append(f"state_class {sc!r} unknown")
    if dc is not None:
        if dc not in DEVICE_CLASSES:
            out.append(f"device_class {dc!r} unknown")
        else:
            units, states = DEVICE_CLASSES[dc]
            if dc != "monetary" and unit not in units:
                out.append(f"unit {unit!r} not allowed for device_class {dc}")
            if sc is not None and sc not in states:
                out.append(f"state_class {sc!r} not allowed for device_class {dc}")
    if "qos" in payload and payload["qos"] not in (0, 1, 2):
        out.append("qos must be 0, 1 or 2")
    av = payload.get("availability")
    if av is not None:
        if "availability_topic" in payload:
            out.append("availability and availability_topic are exclusive")
        if not isinstance(av, list) or not av:
            out.append("availability must be a non-empty list")
        else:
            for a in av:
                if not isinstance(a, dict) or not a.get("topic"):
                    out.append("each availability entry needs a topic")
                else:
                    out += [f"availability key {k!r} unknown" for k in a if k not in AVAILABILITY_KEYS]
    if payload.get("availability_mode", "latest") not in AVAILABILITY_MODES:
        out.append(f"availability_mode {payload['availability_mode']!r} unknown")
    dev = payload.get("device")
    if dev is not None:
        out += [f"device key {k!r} unknown" for k in dev if k not in DEVICE_KEYS]
        if not dev.get("identifiers") and not dev.get("connections"):
            out.append("device needs identifiers or connections")
        if "configuration_url" in dev and not str(dev["configuration_url"]).startswith(("http://", "https://", "homeassistant://")):
            out.append("configuration_url must be http(s)")
        if "unique_id" not in payload:
            out.append("a device is only kept for entities with a unique_id")
    org = payload.get("origin")
    if org is not None:
        out += [f"origin key {k!r} unknown" for k in org if k not in ORIGIN_KEYS]
        if not org.get("name"):
            out.append("origin needs a name")
    return out
