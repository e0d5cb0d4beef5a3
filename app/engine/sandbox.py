"""Restricted evaluator for the Python inside BPMN diagrams: conditions, scripts, timer expressions.

Administrators edit diagrams in the browser, so all of that code is untrusted.  SpiffWorkflow's
default ``TaskDataEnvironment`` runs it with plain ``eval``/``exec``, where
``().__class__.__base__.__subclasses__()`` reaches ``subprocess.Popen``.

Two layers, because either alone is not enough:

1. Static validation of the ``ast`` before anything is compiled.  Restricted builtins alone do not
   stop the subclasses walk: it needs no builtin at all, only attribute access on a literal.  So
   the tree must pass an allow-list of node types, and may not use names or attributes starting
   with ``_``, the frame/code walking attributes (``gi_*``, ``cr_*``, ``ag_*``, ``f_*``, ``tb_*``,
   ``co_*``, ``func_*``, ``mro``), ``format``/``format_map`` (``"{0.__class__}".format(x)``
   walks attributes inside the string), ``maketrans``/``translate``, or dangerous builtins by
   name (``eval``, ``getattr``, ``type``, ...).  Problems name the line and 1-based column.
2. A restricted run time: ``__builtins__`` is the ``SAFE_BUILTINS`` whitelist plus ``now()`` and
   ``today()`` from an injectable clock, and the validated tree is rewritten so that whatever
   can exhaust memory or CPU goes through a guard.  ``+ * ** <<`` check the size of the result
   before computing it (ints up to ``MAX_INT_BITS`` bits, strings and lists up to ``MAX_LENGTH``
   items); ``%`` string formatting is refused (use f-strings; their widths are capped); call
   results and lists/dicts/sets changed by a method call are size-checked; ``str.join``,
   ``replace``, ``ljust`` & co. and ``int.to_bytes`` are checked before they run; ``range()`` is
   capped at ``MAX_RANGE``; every turn of a ``for``/``while`` loop or comprehension costs one
   unit of a ``MAX_ITERATIONS`` budget per evaluation.  Constant expressions such as ``9**9**9``
   are refused by the static check already.
3. A work budget and a clock per evaluation, for what hides inside builtins: every item a guarded
   operation builds, copies or scans (``'a' * 10**6``, ``x in big_list``, ``sorted(l)``, ``l[:]``,
   ``l == m``, a method of a big container) costs one unit of ``MAX_WORK``, and an evaluation that
   runs longer than ``MAX_SECONDS`` is stopped at its next loop turn or guarded operation.  So
   ``['a' * 1000000 for i in range(100000)]`` stops after about 10 MB and
   ``sum(1 for i in range(100000) if 1 in l)`` (``l`` a million items) after 10 scans, well within a
   second, and the web worker goes on.  Kept in-process on purpose: conditions run on every step's
   hot path, where a child process per evaluation (fork, pickling task data, a wall-clock kill) would
   cost milliseconds each; the bounds are counted where the work happens instead.  Not covered:
   ``str()`` of a huge nested container built within the limits; the worker time-out is the backstop.

Allowed: expressions, assignments (plain, augmented, ``del``), ``if``, ``for`` and ``while``
(bounded by the budget), ``break``/``continue``/``pass``, comprehensions, f-strings.  Refused:
``import``, ``global``/``nonlocal``, ``def``, ``lambda``, ``class``, ``try``, ``with``,
``raise``, ``assert``, ``return``, ``match``, ``yield``/``await``/async, annotated assignments,
assignment to attributes.

Semantics follow ``TaskDataEnvironment``: task data is readable by name (it shadows builtins, so a
field called ``date`` hides the class); a script's assignments and ``del`` land in task data;
functions, classes, modules, iterators and ``_`` names never do; a failing script leaves task
data unchanged.  Syntax errors raise ``SyntaxError``, refused code ``UnsafeCode``; SpiffWorkflow
wraps both in ``WorkflowTaskException`` (whose message here includes the reason).
"""

from __future__ import annotations

import ast
import copy
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from types import ModuleType
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

MAX_SOURCE_LENGTH = 20_000
MAX_ITERATIONS = 100_000
MAX_RANGE = 100_000
MAX_LENGTH = 1_000_000
MAX_INT_BITS = 10_000
MAX_FORMAT_WIDTH = 1_000
MAX_WORK = 10_000_000  # items built, copied or scanned per evaluation (about 10 MB of text)
MAX_SECONDS = 1.0  # wall-clock time of one evaluation
MAX_LOOP_CARDINALITY = 1_000  # instances of one multi-instance activity


class UnsafeCode(Exception):
    """The code uses something the sandbox refuses; ``problems`` lists every reason."""

    def __init__(self, problems: str | list[str] | tuple[str, ...]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ResourceLimitExceeded(UnsafeCode):
    """A run-time guard tripped: the code would use too much memory or time."""


# ------------------------------------------------------------------------------------ static checks
_STATEMENTS = (ast.Expr, ast.Assign, ast.AugAssign, ast.Delete, ast.Pass, ast.Break, ast.Continue,
               ast.If, ast.For, ast.While)
_EXPRESSIONS = (ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set,
                ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
                ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript,
                ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice)
_REFUSED = {ast.Import: "import statements", ast.ImportFrom: "import statements",
            ast.Lambda: "lambda expressions", ast.FunctionDef: "function definitions",
            ast.AsyncFunctionDef: "function definitions", ast.ClassDef: "class definitions",
            ast.Global: "'global' statements", ast.Nonlocal: "'nonlocal' statements",
            ast.Try: "'try' statements", ast.TryStar: "'try' statements", ast.With: "'with' statements",
            ast.AsyncWith: "'with' statements", ast.AsyncFor: "'async for' loops",
            ast.Await: "'await' expressions", ast.Yield: "'yield' expressions",
            ast.YieldFrom: "'yield' expressions", ast.Raise: "'raise' statements",
            ast.Assert: "'assert' statements", ast.Return: "'return' statements",
            ast.Match: "'match' statements", ast.AnnAssign: "annotated assignments"}
DENIED_NAMES = frozenset({
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "dir", "type", "object", "input", "breakpoint", "help", "memoryview", "super", "classmethod",
    "staticmethod", "property", "exit", "quit"})
DENIED_ATTRIBUTES = frozenset({"mro", "format", "format_map", "maketrans", "translate"})
_DENIED_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_")
_HINTS = {"format": "; use an f-string instead", "format_map": "; use an f-string instead"}


def _column(lines: list[str], lineno: int, byte_offset: int) -> int:
    """ast offsets count UTF-8 bytes; report 1-based characters (conditions often hold Chinese)."""
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    return len(line.encode()[:byte_offset].decode(errors="ignore")) + 1


def _fold(node: ast.AST) -> Any:
    """The value of a constant expression, computed through the run-time guards."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return -_fold(node.operand) if isinstance(node.op, ast.USub) else +_fold(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_GUARDS:
        return _BINOP_GUARDS[type(node.op)](_fold(node.left), _fold(node.right))
    raise ValueError("not a constant")


_FOLD_ERRORS = (UnsafeCode, TypeError, ValueError, ArithmeticError, RecursionError)


def _validate(tree: ast.AST, source: str) -> list[str]:
    lines, found = source.splitlines(), []

    def refuse(message: str, node: Any, attr: str | None = None) -> None:
        if attr is None:
            line, col = node.lineno, _column(lines, node.lineno, node.col_offset)
        else:  # point at the attribute's name, not at the start of `a.b.c`
            line = node.end_lineno
            col = _column(lines, line, node.end_col_offset) - len(attr)
        found.append((line, col, f"{message} (line {line}, column {col})"))

    for node in ast.walk(tree):
        if isinstance(node, (ast.stmt, ast.expr)) and not isinstance(node, _STATEMENTS + _EXPRESSIONS):
            label = _REFUSED.get(type(node))
            refuse(f"{label} are not allowed" if label else f"'{type(node).__name__}' is not allowed", node)
        elif isinstance(node, ast.comprehension) and node.is_async:
            refuse("'async for' loops are not allowed", node.target)
        elif isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in DENIED_NAMES):
            refuse(f"name '{node.id}' is not allowed", node)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith(_DENIED_PREFIXES) or node.attr in DENIED_ATTRIBUTES:
                refuse(f"attribute '{node.attr}' is not allowed{_HINTS.get(node.attr, '')}", node, node.attr)
            elif not isinstance(node.ctx, ast.Load):
                refuse(f"assigning to attribute '{node.attr}' is not allowed", node, node.attr)
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            for part in node.format_spec.values:
                if not isinstance(part, ast.Constant):
                    refuse("computed format specifications in f-strings are not allowed", part)
                elif any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", str(part.value))):
                    refuse(f"f-string format width is too large (at most {MAX_FORMAT_WIDTH})", part)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_GUARDS:
            try:
                left, right = _fold(node.left), _fold(node.right)
            except _FOLD_ERRORS:  # not constant, or already reported for an operand
                continue
            try:
                _BINOP_GUARDS[type(node.op)](left, right)
            except UnsafeCode as exc:
                refuse(str(exc), node)
            except (TypeError, ValueError, ArithmeticError):  # e.g. 1 % 0: an error, not a refusal
                pass
    return [message for _, _, message in sorted(found)]


# ---------------------------------------------------------------------------------- run-time guards
_SEQUENCES = (str, bytes, bytearray, list, tuple)
_SIZED = (*_SEQUENCES, dict, set, frozenset)
_METHOD_DESCRIPTOR = type(str.join)


def _check_length(n: int) -> None:
    if n > MAX_LENGTH:
        raise ResourceLimitExceeded(f"the result would be too large (more than {MAX_LENGTH} items)")
    _charge(n)


def _charge(n: int) -> None:
    """Count `n` items of work against the running evaluation's budget (none while the static check folds)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(n)


def _scan(value: Any) -> Any:
    """A container about to be scanned or copied whole (`in`, `==`, a slice): its length is work."""
    if isinstance(value, _SIZED):
        _charge(len(value))
    return value


def _check_bits(n: int) -> None:
    if n > MAX_INT_BITS:
        raise ResourceLimitExceeded(f"the number would be too large (more than {MAX_INT_BITS} bits)")


def _size(value: Any) -> Any:
    if isinstance(value, _SIZED):
        _check_length(len(value))
    return value


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_length(len(a) + len(b))
    return a + b


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length())
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_length(len(a) * b)
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_length(len(b) * a)
    return a * b


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        _check_bits(b + 1 if b > MAX_INT_BITS else int(b * math.log2(abs(a))) + 1)  # |a| >= 2
    return a**b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _check_bits(a.bit_length() + b)
    return a << b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        raise UnsafeCode("'%' string formatting is not allowed; use an f-string instead")
    return a % b


_BINOP_GUARDS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _add, ast.Mult: _mul, ast.Pow: _pow, ast.LShift: _lshift, ast.Mod: _mod}


def _precheck(owner: Any, name: str, args: tuple, kwargs: dict) -> tuple:
    """Refuse str/bytes/int methods whose result would be too large, before they run."""
    if isinstance(owner, int) and name == "to_bytes":
        _check_length(args[0] if args else kwargs.get("length", 1))
    elif not isinstance(owner, (str, bytes, bytearray)):
        pass
    elif name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
        _check_length(args[0])
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        _check_length(len(owner) * max(tabsize, 1) if isinstance(tabsize, int) else 0)
    elif name == "replace" and len(args) >= 2:
        count = owner.count(args[0])
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        _check_length(len(owner) + count * (len(args[1]) - len(args[0])))
    elif name == "join" and args:
        items = list(args[0])
        _check_length(sum(len(i) for i in items if isinstance(i, _SEQUENCES)) + len(owner) * len(items))
        args = (items, *args[1:])
    return args


def _call(func: Any, /, *args: Any, **kwargs: Any) -> Any:
    for arg in args:  # sorted(l), max(l), l.count(x): builtins walk their arguments
        _scan(arg)
    _scan(getattr(func, "__self__", None))
    if isinstance(func, _METHOD_DESCRIPTOR) and args:  # str.join(sep, items)
        owner = args[0]
        args = (owner, *_precheck(owner, func.__name__, args[1:], kwargs))
    else:
        owner = getattr(func, "__self__", None)
        if isinstance(owner, (str, bytes, bytearray, int)):
            args = _precheck(owner, getattr(func, "__name__", ""), args, kwargs)
    result = func(*args, **kwargs)
    if isinstance(owner, (list, dict, set, bytearray)):  # x.extend(x) in a loop
        _size(owner)
    return _size(result)


def _range(*args: int) -> range:
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = MAX_RANGE + 1
    if n > MAX_RANGE:
        raise ResourceLimitExceeded(f"range() is too long (at most {MAX_RANGE} numbers)")
    return r


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    if not isinstance(start, (int, float, timedelta)):
        raise UnsafeCode("sum() only adds numbers and timedeltas")
    return sum(iterable, start)


class _Budget:
    """What one evaluation may still use: loop turns (every loop turn and comprehension item costs one), work
    (items built, copied or scanned) and time."""

    __slots__ = ("deadline", "left", "work")

    def __init__(self) -> None:
        self.left = MAX_ITERATIONS
        self.work = MAX_WORK
        self.deadline = time.monotonic() + MAX_SECONDS

    def tick(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise ResourceLimitExceeded(f"too many loop iterations (at most {MAX_ITERATIONS})")
        self._in_time()

    def charge(self, n: int) -> None:
        self.work -= n
        if self.work < 0:
            raise ResourceLimitExceeded(f"the code does too much work (more than {MAX_WORK} items built, copied "
                                        "or scanned)")
        self._in_time()

    def _in_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ResourceLimitExceeded(f"the code ran longer than {MAX_SECONDS:g} second(s)")

    def iterate(self, iterable: Any) -> Any:
        for item in iterable:
            self.tick()
            yield item


_BUDGET: ContextVar[_Budget | None] = ContextVar("sandbox_budget", default=None)


@contextmanager
def _running(budget: _Budget) -> Iterator[None]:
    token = _BUDGET.set(budget)
    try:
        yield
    finally:
        _BUDGET.reset(token)


SAFE_BUILTINS: dict[str, Any] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "enumerate": enumerate,
    "float": float, "int": int, "isinstance": isinstance, "len": len, "list": list, "max": max,
    "min": min, "range": _range, "round": round, "set": set, "sorted": sorted, "str": str,
    "sum": _sum, "tuple": tuple, "zip": zip, "True": True, "False": False, "None": None,
    "date": date, "datetime": datetime, "timedelta": timedelta, "timezone": timezone}
_GUARD_NAMES = {op: f"__sandbox{f.__name__}__" for op, f in _BINOP_GUARDS.items()}
_GUARDS = {"__sandbox_call__": _call, "__sandbox_size__": _size, "__sandbox_scan__": _scan,
           **{_GUARD_NAMES[op]: f for op, f in _BINOP_GUARDS.items()}}


class _Instrument(ast.NodeTransformer):
    """Route the validated tree's risky operations through the guards."""

    @staticmethod
    def _guard(name: str, node: ast.AST, *args: ast.expr) -> ast.Call:
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), list(args), []), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = _GUARD_NAMES.get(type(node.op))
        return self._guard(name, node, node.left, node.right) if name else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:  # x += y  ->  x = guard(x, y)
        self.generic_visit(node)
        if (name := _GUARD_NAMES.get(type(node.op))) is None:
            return node
        current = copy.deepcopy(node.target)
        current.ctx = ast.Load()
        return ast.copy_location(ast.Assign([node.target], self._guard(name, node, current, node.value)), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        guarded = self._guard("__sandbox_call__", node, node.func, *node.args)
        guarded.keywords = node.keywords
        return guarded

    def visit_Compare(self, node: ast.Compare) -> ast.AST:  # `x in l`, `l == m` walk the containers
        self.generic_visit(node)
        node.left = self._guard("__sandbox_scan__", node.left, node.left)
        node.comparators = [self._guard("__sandbox_scan__", c, c) for c in node.comparators]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:  # l[:] copies l
        self.generic_visit(node)
        if isinstance(node.slice, ast.Slice) and isinstance(node.ctx, ast.Load):
            node.value = self._guard("__sandbox_scan__", node.value, node.value)
        return node

    def visit_For(self, node: ast.For | ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._guard("__sandbox_iter__", node.iter, node.iter)
        return node

    visit_comprehension = visit_For

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(self._guard("__sandbox_tick__", node)), node))
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node.value = self.visit(node.value)  # the format spec must stay a plain JoinedStr
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        self.generic_visit(node)
        return self._guard("__sandbox_size__", node, node)

    def visit_List(self, node: ast.List | ast.Tuple | ast.Set) -> ast.AST:  # [*x, *x] doubles x
        self.generic_visit(node)
        unpacks = any(isinstance(e, ast.Starred) for e in node.elts)
        loads = isinstance(getattr(node, "ctx", ast.Load()), ast.Load)
        return self._guard("__sandbox_size__", node, node) if unpacks and loads else node

    visit_Tuple = visit_Set = visit_List

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        return self._guard("__sandbox_size__", node, node) if None in node.keys else node


@lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> tuple[Any, tuple[str, ...], tuple | None]:
    """(code, problems, SyntaxError args); cached, since conditions are evaluated on the hot path."""
    if len(source) > MAX_SOURCE_LENGTH:
        return None, (f"the code is too long ({len(source)} characters; at most {MAX_SOURCE_LENGTH})",), None
    if mode == "eval":
        source = source.lstrip(" \t")  # as eval() does
    try:
        tree = ast.parse(source, "<string>", mode)
        if problems := _validate(tree, source):
            return None, tuple(problems), None
        return compile(ast.fix_missing_locations(_Instrument().visit(tree)), "<string>", mode), (), None
    except SyntaxError as exc:  # keep the details, not the exception (its traceback holds frames)
        where = f" (column {exc.offset})" if exc.offset else ""
        problem = f"syntax error at line {exc.lineno or 1}: {exc.msg}{where}"
        return None, (problem,), (exc.msg, ("<string>", exc.lineno, exc.offset, exc.text))
    except (RecursionError, MemoryError, ValueError):
        return None, ("the code is too deeply nested",), None


def _compiled(source: str, mode: str) -> Any:
    if not isinstance(source, str):
        raise UnsafeCode("the code must be text")
    code, problems, syntax = _compile(source, mode)
    if syntax is not None:
        raise SyntaxError(*syntax)
    if problems:
        raise UnsafeCode(problems)
    return code


def check_expression(source: str) -> list[str]:
    """What stops `source` from being a condition or timer expression; [] means it is fine."""
    return list(_compile(source, "eval")[1]) if isinstance(source, str) else ["the code must be text"]


def check_script(source: str) -> list[str]:
    """What stops `source` from being a script task; [] means it is fine."""
    return list(_compile(source, "exec")[1]) if isinstance(source, str) else ["the code must be text"]


def check_loop_cardinality(source: str) -> list[str]:
    """What stops `source` from being a multi-instance loop cardinality: the expression's problems, or a
    constant beyond MAX_LOOP_CARDINALITY (a computed one is checked when it is evaluated)."""
    if problems := check_expression(source):
        return problems
    try:
        value = _fold(ast.parse(source.strip(), mode="eval").body)
    except (*_FOLD_ERRORS, SyntaxError):
        return []
    return [] if not isinstance(value, int) else _cardinality_problems(value)


def _cardinality_problems(value: int) -> list[str]:
    if value > MAX_LOOP_CARDINALITY:
        return [f"the loop cardinality {value} is too large (at most {MAX_LOOP_CARDINALITY} instances)"]
    return []


def _is_data(value: Any) -> bool:
    return not (callable(value) or isinstance(value, ModuleType) or hasattr(type(value), "__next__"))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """A drop-in for SpiffWorkflow's TaskDataEnvironment that validates and restricts the code."""

    def __init__(self, environment_globals: dict[str, Any] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(environment_globals)
        read = clock or _utc_now

        def now() -> datetime:
            return read()

        def today() -> date:
            return read().date()

        self.builtins = {**SAFE_BUILTINS, "now": now, "today": today}

    def _namespace(self, context: dict, external_context: dict | None) -> dict[str, Any]:
        budget = _Budget()
        namespace = {**self.globals, **(external_context or {}), **context, **_GUARDS}  # guards win over data
        namespace.update(__builtins__=self.builtins, __sandbox_iter__=budget.iterate, __sandbox_tick__=budget.tick,
                         __sandbox_budget__=budget)
        return namespace

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        code = _compiled(expression, "eval")
        namespace = self._namespace(context, external_context)
        with _running(namespace["__sandbox_budget__"]):
            return eval(code, namespace)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        reserved = set(self.globals) | set(external_context or ())
        if overwrites := reserved.intersection(context):
            raise ValueError("You have task data that overwrites a predefined function(s). Please change "
                             f"the following variable or field name(s) to something else: {overwrites}")
        code = _compiled(script, "exec")
        namespace = self._namespace(context, external_context)
        with _running(namespace["__sandbox_budget__"]):
            exec(code, namespace)  # noqa: S102 - validated and instrumented above
        for key in [k for k in context if k not in namespace]:  # `del x`
            del context[key]
        for key, value in namespace.items():
            if not key.startswith(("__sandbox", "__builtins__")) and key not in reserved:
                if _is_data(value):
                    context[key] = value
                else:
                    context.pop(key, None)
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's engine, but a failing expression's message also says why."""

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
            is_cardinality = expression == getattr(task.task_spec, "cardinality", None) and isinstance(value, int)
            if is_cardinality and (problems := _cardinality_problems(value)):  # 10**9 instances: the worker
                raise ResourceLimitExceeded(problems)
            return value
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as exc:
            msg = f"Error evaluating expression '{expression}': {exc}"
            raise WorkflowTaskException(msg, task=task, exception=exc) from exc


def make_script_engine(clock: Callable[[], datetime] | None = None) -> PythonScriptEngine:
    """The script engine for running diagrams; `clock` (aware datetime) feeds now(), today() and timers."""
    engine = RestrictedScriptEngine(environment=RestrictedEnvironment(clock=clock))
    engine.clock = clock or _utc_now  # read by the timer events in app/engine/timers.py
    return engine
