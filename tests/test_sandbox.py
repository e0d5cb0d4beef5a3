"""The restricted evaluator for diagram code (app/engine/sandbox.py).

Every gateway condition, script task and timer expression comes from an administrator's browser,
so these tests try the classic ways out of a Python sandbox, check that ordinary hazard-workflow
expressions still work, and run a small diagram through SpiffWorkflow with the restricted engine.
"""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from app.engine.sandbox import (
    MAX_ITERATIONS,
    SAFE_BUILTINS,
    ResourceLimitExceeded,
    RestrictedEnvironment,
    UnsafeCode,
    check_expression,
    check_loop_cardinality,
    check_script,
    make_script_engine,
)

ESCAPES = {
    "subclasses walk": "().__class__.__base__.__subclasses__()",
    "__import__": "__import__('os').system('id')",
    "open": "open('/etc/passwd').read()",
    "subclasses in a comprehension": "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "str.format attribute walk": '"{0.__class__}".format(1)',
    "format_map": '"{x.__class__}".format_map({"x": 1})',
    "getattr": "getattr((), '__class__')",
    "generator frame walk": "(x for x in ()).gi_frame.f_globals",
    "frame walk without dunders": "(x for x in ()).gi_frame.f_back.f_builtins",
    "eval": "eval('1')",
    "exec": "exec('import os')",
    "compile": "compile('1', 'x', 'eval')",
    "type": "type(1)",
    "object": "object.__subclasses__()",
    "mro": "int.mro()",
    "lambda globals": "(lambda: 0).__globals__",
    "lambda call": "(lambda f: f)(1)",
    "lambda default": "(lambda x=().__class__: x)()",
    "globals": "globals()",
    "locals": "locals()",
    "vars": "vars()",
    "dir": "dir()",
    "builtins name": "__builtins__",
    "f-string attribute walk": 'f"{().__class__}"',
    "f-string nested in a condition": 'grade == "重大" and f"{().__class__.__mro__}"',
    "huge power": "9**9**9",
    "huge repetition": "'a'*10**10",
    "huge shift": "1 << 10**9",
}
SCRIPT_ESCAPES = {
    "import": "import os",
    "from import": "from os import system",
    "import inside if": "if True:\n    import os",
    "function definition": "def f():\n    pass",
    "class definition": "class A:\n    pass",
    "global": "global x\nx = 1",
    "try": "try:\n    x = 1\nexcept Exception:\n    pass",
    "with": "with open('x') as f:\n    pass",
    "assign attribute": "x = date.today()\nx.year = 1",
    "assign dunder": "__builtins__ = {}",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_classic_escapes_are_refused_by_the_static_checks(source):
    assert check_expression(source)
    assert check_script(source)


@pytest.mark.parametrize("source", SCRIPT_ESCAPES.values(), ids=SCRIPT_ESCAPES.keys())
def test_statements_that_open_a_way_out_are_refused_in_scripts(source):
    assert check_script(source)


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_classic_escapes_are_refused_when_evaluated(source):
    with pytest.raises(UnsafeCode):
        RestrictedEnvironment().evaluate(source, {"grade": "重大"})


@pytest.mark.parametrize("source", [*ESCAPES.values(), *SCRIPT_ESCAPES.values()])
def test_classic_escapes_are_refused_when_executed_and_leave_task_data_alone(source):
    data = {"grade": "重大"}
    with pytest.raises(UnsafeCode):
        RestrictedEnvironment().execute(source, data)
    assert data == {"grade": "重大"}


def test_subclasses_walk_is_refused_with_a_message_naming_the_attribute_and_its_place():
    assert check_expression("().__class__.__base__.__subclasses__()")[0] == (
        "attribute '__class__' is not allowed (line 1, column 4)"
    )
    with pytest.raises(UnsafeCode, match=r"attribute '__class__' is not allowed \(line 1, column 4\)"):
        RestrictedEnvironment().evaluate("().__class__.__base__.__subclasses__()", {})


def test_columns_count_characters_not_bytes_in_chinese_conditions():
    assert check_expression('grade == "重大" and x.__class__') == [
        "attribute '__class__' is not allowed (line 1, column 21)"
    ]


def test_problems_are_plain_sentences_for_the_deployment_validator():
    assert check_script("import os") == ["import statements are not allowed (line 1, column 1)"]
    assert check_expression("getattr(x, 'y')") == ["name 'getattr' is not allowed (line 1, column 1)"]
    assert check_expression("(lambda: 1)()") == ["lambda expressions are not allowed (line 1, column 2)"]
    assert check_expression('"{0}".format(x)') == [
        "attribute 'format' is not allowed; use an f-string instead (line 1, column 7)"
    ]
    assert check_script("x = 1\nimport os\ny = f.gi_frame") == [
        "import statements are not allowed (line 2, column 1)",
        "attribute 'gi_frame' is not allowed (line 3, column 7)",
    ]


def test_syntax_errors_are_reported_with_their_line():
    [problem] = check_expression("grade ==")
    assert problem.startswith("syntax error at line 1: ")
    [problem] = check_script("x = 1\nif x\n    y = 2")
    assert problem.startswith("syntax error at line 2: ")
    assert check_script("break")[0].startswith("syntax error at line 1: 'break' outside loop")
    with pytest.raises(SyntaxError):
        RestrictedEnvironment().evaluate("grade ==", {"grade": "major"})


def test_huge_numbers_and_strings_are_refused_at_run_time_too():
    env = RestrictedEnvironment()
    for source in [
        "n ** n ** n",
        "2 ** n ** 400",
        "'a' * n ** 10",
        "[0] * n ** 10",
        "1 << n ** 9",
        "'%0999999d' % n",
    ]:
        with pytest.raises(UnsafeCode):
            env.evaluate(source, {"n": 10})


def test_growth_in_a_loop_is_stopped():
    env = RestrictedEnvironment()
    growing = [
        "s = 'ab'\nwhile True:\n    s = s + s",
        "s = 'ab'\nwhile True:\n    s += s",
        "s = 'ab'\nwhile True:\n    s = f'{s}{s}'",
        "x = [1]\nwhile True:\n    x.extend(x)",
        "x = [1]\nwhile True:\n    x = [*x, *x]",
        "n = 3\nwhile True:\n    n = n * n",
        "s = 'a' * 1000\ns = s.replace('a', s + 'a')",
        "s = ''.join(['a' * 1000] * 1001)",
        "s = str.join('', ['a' * 1000] * 1001)",
        "s = 'a'.ljust(10 ** 9)",
        "b = (1).to_bytes(10 ** 9, 'big')",
        "x = sum([[1]] * 10, [])",
    ]
    for script in growing:
        with pytest.raises(UnsafeCode):
            env.execute(script, {})


def test_loops_are_bounded_by_an_iteration_budget():
    env = RestrictedEnvironment()
    with pytest.raises(ResourceLimitExceeded, match="too many loop iterations"):
        env.execute("n = 0\nwhile True:\n    n += 1", {})
    with pytest.raises(ResourceLimitExceeded, match="too many loop iterations"):
        env.evaluate("sum(1 for a in range(1000) for b in range(1000))", {})
    with pytest.raises(ResourceLimitExceeded, match="range"):
        env.evaluate("range(10 ** 12)", {})
    data = {}
    env.execute(f"n = 0\nwhile n < {MAX_ITERATIONS - 1}:\n    n += 1", data)
    assert data == {"n": MAX_ITERATIONS - 1}


def test_the_budget_is_per_evaluation():
    env = RestrictedEnvironment()
    for _ in range(3):
        assert env.evaluate("len([i for i in range(90000)])", {}) == 90000


def test_only_whitelisted_builtins_are_reachable():
    env = RestrictedEnvironment()
    assert "eval" not in SAFE_BUILTINS and "getattr" not in SAFE_BUILTINS
    with pytest.raises(NameError):
        env.evaluate("print(1)", {})
    with pytest.raises(NameError):
        env.evaluate("hasattr(1, 'real')", {})


LEGITIMATE = [
    ('grade == "major"', {"grade": "major"}, True),
    ('grade == "major"', {"grade": "general"}, False),
    ('review_result == "pass"', {"review_result": "pass"}, True),
    ('verification_result != "pass"', {"verification_result": "fail"}, True),
    ("len(photos) > 0", {"photos": ["a.jpg"]}, True),
    ("len(photos) > 0", {"photos": []}, False),
    ("funds > 1000 and listed", {"funds": 5000, "listed": True}, True),
    ("funds > 1000 and listed", {"funds": 5000, "listed": False}, False),
    (
        "date.fromisoformat(rectification_deadline) - timedelta(days=3)",
        {"rectification_deadline": "2024-05-10"},
        date(2024, 5, 7),
    ),
    ("any(p.endswith('.jpg') for p in photos)", {"photos": ["a.png", "b.jpg"]}, True),
    ("sorted({g: n for g, n in counts.items()})", {"counts": {"b": 1, "a": 2}}, ["a", "b"]),
    ('f"{funds:>8.2f}元"', {"funds": 12.5}, "   12.50元"),
    ("2 ** 10 + 7 % 3", {}, 1025),
    ("', '.join(str(x) for x in range(3))", {}, "0, 1, 2"),
    ("max(scores) if scores else None", {"scores": [3, 9, 4]}, 9),
    ("isinstance(funds, (int, float)) and round(funds / 3, 2)", {"funds": 10}, 3.33),
]


@pytest.mark.parametrize(("expression", "data", "expected"), LEGITIMATE)
def test_legitimate_expressions_work(expression, data, expected):
    assert check_expression(expression) == []
    assert RestrictedEnvironment().evaluate(expression, data) == expected


def test_leading_spaces_in_an_expression_are_ignored_like_eval_does():
    assert RestrictedEnvironment().evaluate('  grade == "major"', {"grade": "major"}) is True


def test_timer_expressions_read_the_injected_clock():
    fixed = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    env = RestrictedEnvironment(clock=lambda: fixed)
    assert env.evaluate("(now() + timedelta(days=3)).isoformat()", {}) == "2024-05-04T08:30:00+00:00"
    assert env.evaluate("today()", {}) == date(2024, 5, 1)
    deadline = env.evaluate(
        "(datetime.fromisoformat(due) - timedelta(hours=24)).isoformat()",
        {"due": "2024-06-01T12:00:00+08:00"},
    )
    assert deadline == "2024-05-31T12:00:00+08:00"


def test_the_default_clock_is_aware_utc_now():
    value = RestrictedEnvironment().evaluate("now()", {})
    assert value.tzinfo is not None
    assert abs(value - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_script_sets_task_data_and_nothing_else_leaks():
    data = {"funds": 1500}
    script = (
        "total = funds * 2\n"
        'status = "x"\n'
        "for i in range(3):\n"
        "    pass\n"
        "helper = len\n"
        "kind = date\n"
        "pending = (p for p in [1])\n"
        "pairs = zip([1], [2])\n"
        "squares = [k * k for k in range(3)]\n"
    )
    assert check_script(script) == []
    assert RestrictedEnvironment().execute(script, data) is True
    assert data == {"funds": 1500, "total": 3000, "status": "x", "i": 2, "squares": [0, 1, 4]}


def test_a_script_can_delete_and_update_task_data():
    data = {"draft": "x", "items": [1]}
    RestrictedEnvironment().execute("del draft\nitems.append(2)\nitems += [3]", data)
    assert data == {"items": [1, 2, 3]}


def test_a_failing_script_leaves_task_data_unchanged():
    data = {"funds": 1}
    with pytest.raises(ZeroDivisionError):
        RestrictedEnvironment().execute("total = 5\nratio = funds / 0", data)
    assert data == {"funds": 1}


def test_environment_globals_are_readable_but_not_copied_into_task_data():
    env = RestrictedEnvironment({"threshold": 1000})
    data = {"funds": 1200}
    env.execute("over = funds > threshold", data)
    assert data == {"funds": 1200, "over": True}
    with pytest.raises(ValueError, match="overwrites a predefined"):
        env.execute("x = 1", {"threshold": 1})


def test_compiled_code_is_cached():
    from app.engine.sandbox import _compile

    source = 'grade == "cached-condition"'
    env = RestrictedEnvironment()
    env.evaluate(source, {"grade": "x"})
    hits = _compile.cache_info().hits
    env.evaluate(source, {"grade": "y"})
    assert _compile.cache_info().hits == hits + 1


# ------------------------------------------------------------------------------ through SpiffWorkflow
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://example.org/test">
  <bpmn:process id="sandbox_test" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:scriptTask id="decide" name="Decide">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="gateway" />
    <bpmn:exclusiveGateway id="gateway" />
    <bpmn:sequenceFlow id="to_major" sourceRef="gateway" targetRef="end_major">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_general" sourceRef="gateway" targetRef="end_general">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">grade == "general"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end_major" />
    <bpmn:endEvent id="end_general" />
  </bpmn:process>
</bpmn:definitions>
"""


def _workflow(script, condition='grade == "major"', engine=None):
    xml = DIAGRAM.format(script=script.replace("&", "&amp;").replace("<", "&lt;"), condition=condition)
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode("utf-8"))
    workflow = BpmnWorkflow(parser.get_spec("sandbox_test"))
    workflow.script_engine = engine or make_script_engine()
    return workflow


def _finished_at(workflow):
    return {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)} & {
        "end_major",
        "end_general",
    }


@pytest.mark.parametrize(("funds", "end"), [(5000, "end_major"), (10, "end_general")])
def test_a_good_condition_routes_the_workflow(funds, end):
    workflow = _workflow('grade = "major" if funds > 1000 else "general"')
    workflow.task_tree.data.update({"funds": funds})
    workflow.do_engine_steps()
    assert workflow.completed
    assert _finished_at(workflow) == {end}
    assert workflow.data["grade"] == ("major" if funds > 1000 else "general")


ESCAPING_SCRIPTS = {
    "__import__": "__import__('os').mkdir({path!r})",
    "open": "open({path!r}, 'w').write('pwned')",
    "subclasses walk": (
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
        ".__init__.__globals__['mkdir']({path!r})"
    ),
}


@pytest.mark.parametrize("script", ESCAPING_SCRIPTS.values(), ids=ESCAPING_SCRIPTS.keys())
def test_an_escaping_script_fails_and_does_not_run(tmp_path, script):
    target = tmp_path / "pwned"
    workflow = _workflow(script.format(path=str(target)) + '\ngrade = "major"')
    with pytest.raises(WorkflowTaskException, match="not allowed") as caught:
        workflow.do_engine_steps()
    assert isinstance(caught.value, WorkflowException)
    assert caught.value.error_type == "UnsafeCode"
    assert isinstance(caught.value.__cause__ or caught.value.__context__, UnsafeCode)
    assert not target.exists()
    assert not workflow.completed


@pytest.mark.parametrize("script", ESCAPING_SCRIPTS.values(), ids=ESCAPING_SCRIPTS.keys())
def test_the_same_script_escapes_with_spiffworkflows_default_engine(tmp_path, script):
    # Control: proves the previous test would notice an escape.
    target = tmp_path / "pwned"
    workflow = _workflow(script.format(path=str(target)) + '\ngrade = "major"', engine=PythonScriptEngine())
    workflow.do_engine_steps()
    assert target.exists()


def test_an_escaping_condition_fails_the_gateway_and_the_error_says_why():
    workflow = _workflow('grade = "major"', condition="().__class__.__base__.__subclasses__()")
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert "attribute '__class__' is not allowed (line 1, column 4)" in str(caught.value)
    assert caught.value.task.task_spec.name == "gateway"
    assert not workflow.completed


def test_a_broken_condition_fails_the_gateway_with_a_syntax_error():
    workflow = _workflow('grade = "major"', condition="grade ==")
    with pytest.raises(WorkflowTaskException, match="Error evaluating expression 'grade =='") as caught:
        workflow.do_engine_steps()
    assert caught.value.error_type == "SyntaxError"
    assert caught.value.line_number == 1


def test_make_script_engine_returns_a_spiffworkflow_engine_using_the_restricted_environment():
    engine = make_script_engine()
    assert isinstance(engine, PythonScriptEngine)
    assert isinstance(engine.environment, RestrictedEnvironment)


def test_an_endless_loop_in_a_script_task_fails_instead_of_hanging():
    workflow = _workflow('n = 0\nwhile True:\n    n += 1\ngrade = "major"')
    with pytest.raises(WorkflowTaskException, match="too many loop iterations"):
        workflow.do_engine_steps()


def test_task_data_cannot_replace_the_builtins_or_the_guards():
    data = {"__builtins__": {"len": "oops"}, "__sandbox_call__": "oops", "__sandbox_iter__": 1, "x": [1, 2]}
    env = RestrictedEnvironment()
    assert env.evaluate("len(x) + sum(i for i in x)", data) == 5
    env.execute("y = len(x)", data)
    assert data["y"] == 2
    assert data["__builtins__"] == {"len": "oops"} and data["__sandbox_call__"] == "oops"


# ------------------------------------------------------------------------- exhaustion (issue 18)
def _stopped_within_a_second(run) -> str:
    started = time.monotonic()
    with pytest.raises(ResourceLimitExceeded) as caught:
        run()
    assert time.monotonic() - started < 1.0
    return str(caught.value)


def test_memory_built_in_a_comprehension_is_stopped_within_a_second():
    env = RestrictedEnvironment()
    message = _stopped_within_a_second(lambda: env.evaluate("['a' * 1000000 for i in range(100000)]", {}))
    assert "too much work" in message
    data = {"grade": "general"}
    _stopped_within_a_second(lambda: env.execute("x = ['a' * 1000000 for i in range(100000)]", data))
    assert data == {"grade": "general"}


@pytest.mark.parametrize("source", [
    "sum(1 for i in range(100000) if 1 in l)",
    "sum(1 for i in range(100000) if l == m)",
    "len([l[:] for i in range(100000)])",
    "sum(l.count(1) for i in range(100000))",
    "sum(len(sorted(l)) for i in range(100000))",
])
def test_work_hidden_inside_builtins_is_stopped_within_a_second(source):
    data = {"l": [0] * 1_000_000, "m": [0] * 1_000_000}
    env = RestrictedEnvironment()
    assert "too much work" in _stopped_within_a_second(lambda: env.evaluate(source, data))
    script = "l = [0] * 1000000\nn = sum(1 for i in range(100000) if 1 in l)"
    _stopped_within_a_second(lambda: env.execute(script, {}))


def test_an_evaluation_running_longer_than_its_time_is_stopped(monkeypatch):
    from app.engine import sandbox

    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.05)
    monkeypatch.setattr(sandbox, "MAX_WORK", 10**12)  # only the clock can stop it
    env = RestrictedEnvironment()
    big = list(range(100_000))
    message = _stopped_within_a_second(lambda: env.evaluate("[sorted(l) for i in range(1000)]", {"l": big}))
    assert "ran longer than" in message


def test_ordinary_work_on_task_data_stays_within_the_budget():
    env = RestrictedEnvironment()
    data = {"items": [{"ok": i % 3 != 0} for i in range(1000)], "l": list(range(10_000))}
    assert env.evaluate("sum(1 for item in items if not item['ok'])", data) == 334
    assert env.evaluate("sorted(l)[-1] in l and len(l[:100]) == 100", data) is True


MULTI = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://example.org/test">
  <bpmn:message id="msg" name="notify">
    <bpmn:extensionElements><spiffworkflow:messagePayload>{payload}</spiffworkflow:messagePayload></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="multi_test" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each" />
    <bpmn:scriptTask id="each" name="Each">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>x = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="call" />
    <bpmn:serviceTask id="call" name="Call">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="http/get">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="url" type="str" value="{parameter}" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _multi(cardinality="n", payload="{'id': 1}", parameter="'https://example.org'") -> str:
    return MULTI.format(cardinality=cardinality, payload=payload, parameter=parameter.replace("'", "&apos;"))


def test_a_huge_constant_loop_cardinality_and_code_outside_the_flow_nodes_are_refused_at_deploy():
    from app.engine.diagram import check_code, read_diagram

    assert check_code(read_diagram(_multi())) == []
    assert check_loop_cardinality("10**9") and check_loop_cardinality("1000") == []
    found = check_code(read_diagram(_multi(cardinality="10**9")))
    assert [(f.element_id, f.code) for f in found] == [("each", "expression")]
    assert "loopCardinality: the loop cardinality 1000000000 is too large" in found[0].detail
    found = check_code(read_diagram(_multi(payload="().__class__.__base__.__subclasses__()",
                                           parameter="['a' * 10**9]")))
    assert {(f.element_id, f.detail.split(":")[0]) for f in found} == {("msg", "messagePayload"),
                                                                         ("call", "parameter url")}


def test_a_computed_loop_cardinality_beyond_the_cap_fails_the_step_within_a_second():
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(_multi().encode("utf-8"))
    workflow = BpmnWorkflow(parser.get_spec("multi_test"))
    workflow.script_engine = make_script_engine()
    workflow.task_tree.data.update({"n": 10**9})
    started = time.monotonic()
    with pytest.raises(WorkflowTaskException, match="too large"):
        workflow.do_engine_steps()
    assert time.monotonic() - started < 1.0
