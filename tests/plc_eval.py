"""A small evaluator over blark's parse tree, for the Structured Text subset wattlog generates.

It runs a FUNCTION_BLOCK or PROGRAM the way a PLC does (variables keep their values between
calls; instances of other generated FBs and of the standard TON are called by name) and is
strict where an IEC compiler is: integers and reals do not mix without a conversion, an integer
that leaves its type's range is an error, and any construct outside the subset raises
`Unsupported` naming it, so generated code cannot silently step outside what was checked here.
"""

from __future__ import annotations

import functools
import math
import struct
from typing import Any

import blark.transform as tf
from blark.parse import parse_source_code

INT_RANGES = {
    "SINT": (-(1 << 7), (1 << 7) - 1), "INT": (-(1 << 15), (1 << 15) - 1), "DINT": (-(1 << 31), (1 << 31) - 1),
    "LINT": (-(1 << 63), (1 << 63) - 1), "USINT": (0, 255), "UINT": (0, 65535), "UDINT": (0, (1 << 32) - 1),
    "ULINT": (0, (1 << 64) - 1), "BYTE": (0, 255), "WORD": (0, 65535), "DWORD": (0, (1 << 32) - 1),
    "LWORD": (0, (1 << 64) - 1),
}
REALS = ("REAL", "LREAL")
STRUCTS_IN_USE: dict[str, dict[str, str]] = {}  # the struct types of the instances being run
MAX_LOOP = 1_000_000


class Unsupported(Exception):
    """The code uses a construct this evaluator does not implement."""


class _Return(Exception):
    pass


@functools.lru_cache(maxsize=32)
def parse(text: str) -> Any:
    """The transformed tree of one declaration (cached: blark's Earley parse takes seconds)."""
    result = parse_source_code(text)
    if result.exception is not None:
        raise result.exception
    return result.transform().items[0]


def struct_fields(text: str) -> tuple[str, dict[str, str]]:
    """(name, {field: type}) of a TYPE ... STRUCT file."""
    decl = parse(text).declaration
    if not isinstance(decl, tf.StructureTypeDeclaration):
        raise Unsupported(type(decl).__name__)
    fields = {}
    for el in decl.declarations:
        for dv in el.variables:
            fields[str(dv.variable.name)] = str(el.init.spec.type)
    return str(decl.name), fields


def coerce(value: Any, type_: str) -> Any:
    """A value stored into a variable of `type_`, as strictly as a compiler would allow."""
    t = type_.upper()
    if t == "BOOL":
        if not isinstance(value, bool):
            raise TypeError(f"BOOL expected, got {value!r}")
        return value
    if t in REALS:
        if not isinstance(value, float):
            raise TypeError(f"{t} expected, got {value!r}")
        return struct.unpack("<f", struct.pack("<f", value))[0] if t == "REAL" and math.isfinite(value) else value
    if isinstance(value, dict):  # a whole STRUCT assigned: same fields, each coerced
        fields = STRUCTS_IN_USE.get(type_)
        if fields is None or set(fields) != set(value):
            raise TypeError(f"cannot assign {sorted(value)} to {type_}")
        return {f: coerce(value[f], ft) for f, ft in fields.items()}
    if t == "TIME":  # milliseconds
        t = "LINT"
    if t in INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{t} expected, got {value!r}")
        lo, hi = INT_RANGES[t]
        if not lo <= value <= hi:
            raise OverflowError(f"{value} does not fit {t}")
        return value
    raise Unsupported(f"type {type_}")


def _default(type_: str, structs: dict[str, dict[str, str]]) -> Any:
    t = type_.upper()
    if t == "BOOL":
        return False
    if t in REALS:
        return 0.0
    if t in INT_RANGES or t == "TIME":
        return 0
    if type_ in structs:
        return {f: _default(ft, structs) for f, ft in structs[type_].items()}
    raise Unsupported(f"type {type_}")


def _literal(node: Any) -> Any:
    typed = getattr(node, "type_name", None)  # LREAL#2.0, UINT#5: the literal has that type
    if isinstance(node, (tf.Integer, tf.HexInteger, tf.BinaryInteger, tf.OctalInteger)):
        base = {tf.HexInteger: 16, tf.BinaryInteger: 2, tf.OctalInteger: 8}.get(type(node), 10)
        value = int(str(node.value).replace("_", ""), base)
        return coerce(value, str(typed)) if typed else value
    if isinstance(node, tf.Real):
        value = float(str(node.value).replace("_", ""))
        return coerce(value, str(typed)) if typed else value
    if isinstance(node, tf.Boolean):
        return str(node.value).upper() == "TRUE"
    if isinstance(node, tf.Duration) and not node.negative:
        parts = (node.days, node.hours, node.minutes, node.seconds, node.milliseconds)
        scale = (86_400_000, 3_600_000, 60_000, 1000, 1)
        return int(sum(float(str(p)) * k for p, k in zip(parts, scale) if p is not None))
    raise Unsupported(type(node).__name__)


class Ton:
    """The standard on-delay timer, on the evaluator's clock (milliseconds)."""

    def __init__(self, clock) -> None:  # type: ignore[no-untyped-def]
        self.clock = clock
        self.env: dict[str, Any] = {"in": False, "pt": 0, "q": False, "et": 0}
        self.types = {"in": "BOOL", "pt": "TIME", "q": "BOOL", "et": "TIME"}
        self.start: int | None = None

    def __call__(self, **inputs: Any) -> Ton:
        for k, v in inputs.items():
            self.env[k.lower()] = coerce(v, self.types[k.lower()])
        if not self.env["in"]:
            self.start, self.env["q"], self.env["et"] = None, False, 0
            return self
        now = self.clock()
        if self.start is None:
            self.start = now
        self.env["et"] = min(now - self.start, self.env["pt"])
        self.env["q"] = self.env["et"] >= self.env["pt"]
        return self


class FunctionBlock:
    """One instance of a generated FUNCTION_BLOCK: call it with inputs, read outputs by name."""

    def __init__(self, text: str, structs: dict[str, dict[str, str]], library: dict[str, str] | None = None,
                 clock: Any = None) -> None:
        fb = parse(text)
        if not isinstance(fb, (tf.FunctionBlock, tf.Program)):
            raise Unsupported(type(fb).__name__)
        STRUCTS_IN_USE.update(structs)
        self.library = library or {}  # POU name -> ST text, for instances declared in this one
        self.clock = clock
        self.name = str(fb.name)
        self.types: dict[str, Any] = {}  # name -> type name, or ("ARRAY", lo, element type)
        self.env: dict[str, Any] = {}
        self.inputs: set[str] = set()
        self.structs = structs
        self.loops = 0
        self.watch: dict[str, Any] = {}  # variable -> callback(fb) after each store (a trace, as an IDE has)
        for block in fb.declarations:
            if not isinstance(block, (tf.InputDeclarations, tf.OutputDeclarations, tf.VariableDeclarations)):
                raise Unsupported(type(block).__name__)
            for item in block.items:
                self._declare(item, isinstance(block, tf.InputDeclarations))
        self.body = fb.body

    def _declare(self, item: Any, is_input: bool) -> None:
        names = [str(dv.variable.name) for dv in item.variables]
        if isinstance(item, tf.ArrayVariableInitDeclaration):
            spec = item.init.spec
            (sub,) = spec.subranges
            lo, hi = _literal(sub.start), _literal(sub.stop)
            elem = str(spec.type.type_name)
            for n in names:
                self.types[n.lower()] = ("ARRAY", lo, elem)
                self.env[n.lower()] = [_default(elem, self.structs) for _ in range(hi - lo + 1)]
        elif isinstance(item, tf.VariableOneInitDeclaration) and (str(item.init.spec.type) in self.library
                                                                   or str(item.init.spec.type) == "TON"):
            type_ = str(item.init.spec.type)
            for n in names:  # an FB instance: its own variables, kept between calls
                self.types[n.lower()] = ("FB", type_)
                self.env[n.lower()] = (Ton(self.clock) if type_ == "TON"
                                       else FunctionBlock(self.library[type_], self.structs, self.library, self.clock))
        elif isinstance(item, tf.VariableOneInitDeclaration):
            type_ = str(item.init.spec.type)
            value = _default(type_, self.structs)
            if item.init.value is not None:
                value = coerce(self._expr(item.init.value), type_)
            for n in names:
                self.types[n.lower()] = type_
                self.env[n.lower()] = value
        else:
            raise Unsupported(type(item).__name__)
        if is_input:
            self.inputs.update(n.lower() for n in names)

    # -- running
    def __call__(self, **inputs: Any) -> FunctionBlock:
        for name, value in inputs.items():
            key = name.lower()
            if key not in self.inputs:
                raise KeyError(f"{self.name} has no input {name}")
            t = self.types[key]
            if isinstance(t, tuple):
                self.env[key] = [coerce(v, t[2]) for v in value]
            else:
                self.env[key] = coerce(value, t)
        try:
            self._run(self.body)
        except _Return:
            pass
        return self

    def __getitem__(self, name: str) -> Any:
        return self.env[name.lower()]

    def _run(self, node: Any) -> None:
        if isinstance(node, tf.StatementList):
            for s in node.statements:
                self._run(s)
        elif isinstance(node, tf.AssignmentStatement):
            value = self._expr(node.expression)
            for target in node.variables:
                self._store(target, value)
        elif isinstance(node, tf.IfStatement):
            if self._cond(node.if_expression):
                self._run(node.statements)
                return
            for clause in node.else_ifs:
                if self._cond(clause.if_expression):
                    self._run(clause.statements)
                    return
            if node.else_clause is not None:
                self._run(node.else_clause.statements)
        elif isinstance(node, tf.WhileStatement):
            while self._cond(node.expression):
                self._tick()
                self._run(node.statements)
        elif isinstance(node, tf.ForStatement):
            if node.step is not None:
                raise Unsupported("FOR ... BY")
            start, stop = self._expr(node.from_), self._expr(node.to)
            i = start
            while i <= stop:
                self._tick()
                self._store(node.control, i)
                self._run(node.statements)
                i = self._load(node.control) + 1
        elif isinstance(node, tf.FunctionCallStatement):  # calling an FB instance with named inputs
            instance = self._load(node.name)
            if not isinstance(instance, (FunctionBlock, Ton)):
                raise Unsupported(f"call of {node.name}")
            args = {}
            for p in node.parameters:
                if not isinstance(p, tf.InputParameterAssignment) or p.name is None:
                    raise Unsupported(f"{node.name}: only named inputs")
                args[str(p.name.name)] = self._expr(p.value)
            instance(**args)
        elif isinstance(node, tf.ReturnStatement):
            raise _Return()
        elif node is None:
            return
        else:
            raise Unsupported(type(node).__name__)

    def _tick(self) -> None:
        self.loops += 1
        if self.loops > MAX_LOOP:
            raise RuntimeError("loop does not end")

    def _cond(self, node: Any) -> bool:
        value = self._expr(node)
        if not isinstance(value, bool):
            raise TypeError(f"condition is not BOOL: {value!r}")
        return value

    def _slot(self, node: Any) -> tuple[Any, Any, Any]:
        """(container, key, declared type) of a variable reference."""
        if isinstance(node, tf.SimpleVariable):
            key = str(node.name).lower()
            if key not in self.env:
                raise NameError(f"undeclared variable {node.name}")
            return self.env, key, self.types[key]
        if isinstance(node, tf.MultiElementVariable):
            container, key, type_ = self._slot(node.name)
            for el in node.elements:
                value = container[key]
                if isinstance(el, tf.SubscriptList):
                    (sub,) = el.subscripts
                    index = self._expr(sub)
                    _, lo, elem = type_
                    if not isinstance(index, int) or not 0 <= index - lo < len(value):
                        raise IndexError(f"index {index} outside {node.name}")
                    container, key, type_ = value, index - lo, elem
                elif isinstance(el, tf.FieldSelector) and isinstance(value, (FunctionBlock, Ton)):
                    field = str(el.field.name).lower()  # an instance's input or output
                    if field not in value.env:
                        raise NameError(f"{type_} has no {el.field.name}")
                    container, key, type_ = value.env, field, value.types[field]
                elif isinstance(el, tf.FieldSelector):
                    field = str(el.field.name)
                    fields = self.structs[type_]
                    if field not in fields:
                        raise NameError(f"{type_} has no field {field}")
                    container, key, type_ = value, field, fields[field]
                else:
                    raise Unsupported(type(el).__name__)
            return container, key, type_
        raise Unsupported(type(node).__name__)

    def _load(self, node: Any) -> Any:
        container, key, _ = self._slot(node)
        return container[key]

    def _store(self, node: Any, value: Any) -> None:
        container, key, type_ = self._slot(node)
        container[key] = coerce(value, type_)
        if container is self.env and key in self.watch:
            self.watch[key](self)

    def _expr(self, node: Any) -> Any:
        if isinstance(node, (tf.SimpleVariable, tf.MultiElementVariable)):
            return self._load(node)
        if isinstance(node, tf.ParenthesizedExpression):
            return self._expr(node.expr)
        if isinstance(node, tf.UnaryOperation):
            value = self._expr(node.expr)
            op = str(node.op).upper()
            if op == "-" and not isinstance(value, bool):
                return -value
            if op == "NOT" and isinstance(value, bool):
                return not value
            raise Unsupported(f"unary {op} on {value!r}")
        if isinstance(node, tf.BinaryOperation):
            return self._binary(str(node.op).upper(), node.left, node.right)
        if isinstance(node, tf.FunctionCall):
            return self._call(node)
        return _literal(node)

    def _binary(self, op: str, left: Any, right: Any) -> Any:
        a = self._expr(left)
        if op in ("AND", "OR", "XOR"):
            b = self._expr(right)
            if not (isinstance(a, bool) and isinstance(b, bool)):
                raise Unsupported(f"{op} on non-BOOL")
            return {"AND": a and b, "OR": a or b, "XOR": a != b}[op]
        b = self._expr(right)
        if isinstance(a, bool) or isinstance(b, bool) or type(a) is not type(b):
            raise TypeError(f"{a!r} {op} {b!r}: operands of different types need a conversion")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if isinstance(a, int):
                q = abs(a) // abs(b)  # IEC integer division truncates toward zero
                return q if (a >= 0) == (b > 0) else -q
            return a / b
        if op == "MOD":
            if not isinstance(a, int):
                raise TypeError("MOD on reals")
            return a - b * self._binary_div(a, b)
        compare = {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}
        if op in compare:
            return compare[op]
        raise Unsupported(f"operator {op}")

    @staticmethod
    def _binary_div(a: int, b: int) -> int:
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q

    def _call(self, node: Any) -> Any:
        name = str(node.name.name).upper()
        args = []
        for p in node.parameters:
            if not isinstance(p, tf.InputParameterAssignment) or p.name is not None:
                raise Unsupported(f"{name}: only positional arguments")
            args.append(self._expr(p.value))
        if "_TO_" in name:
            src, dst = name.split("_TO_")
            (value,) = args
            coerce(value, src)  # the argument must be of the source type
            if dst in REALS:
                return coerce(float(value), dst)
            if src in REALS:  # nearest integer, as CODESYS converts
                return coerce(int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5)), dst)
            return coerce(value, dst)
        if name == "EXPT":
            base, power = args
            if not isinstance(base, float) or isinstance(power, bool) or not isinstance(power, int):
                raise Unsupported("EXPT(real, integer) only")
            return base ** power
        if name == "ABS":
            (value,) = args
            return abs(value)
        if name in ("MIN", "MAX"):
            if len({type(a) for a in args}) != 1:
                raise TypeError(f"{name} of mixed types")
            return min(args) if name == "MIN" else max(args)
        raise Unsupported(f"function {name}")
