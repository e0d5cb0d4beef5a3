import cProfile
import io
import pstats
import time

import pytest

from tests.helpers import complete, current_task, report
from tests.test_hot_path import ASSESS


def test_prof(api, app, backend):
    if backend != "postgresql":
        pytest.skip()
    officer = api.as_("officer_a")
    ids = []
    for _ in range(120):
        h = report(officer)
        ids.append(current_task(officer, h["id"], "assess"))
    for t in ids[:20]:
        complete(officer, t, ASSESS)
    pr = cProfile.Profile(time.process_time)
    pr.enable()
    for t in ids[20:]:
        complete(officer, t, ASSESS)
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.sort_stats("cumulative").print_stats(r"(/app/|smorest/(blueprint|response|arguments)|webargs/core|flask/app.py|werkzeug/test.py|orm/session.py:.*(commit|execute|flush)|marshmallow/schema.py:.*dump|engine/base.py:.*execute\b|psycopg/cursor.py:.*execute)", 70)
    print(s.getvalue())
