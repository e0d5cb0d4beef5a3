"""Flask extensions, created once and bound in the application factory, and small helpers for the session."""
from collections.abc import Callable

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import Select, event
from sqlalchemy.orm import Session

from app.models.base import Base

REPLICA_BIND = "replica"  # the engine of DATABASE_REPLICA_URL (app/services/replica.py decides when)
USE_REPLICA = "hazardloop.use_replica"


class RoutingSession(FlaskSession):
    """Sends SELECTs to the read replica while `session.info[USE_REPLICA]` is set (services/replica.reads); every
    write, flush and lock stays on the primary."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (bind is None and self.info.get(USE_REPLICA) and not self._flushing and isinstance(clause, Select)
                and clause._for_update_arg is None):
            engine = self._db.engines.get(REPLICA_BIND)
            if engine is not None:
                return engine
        return super().get_bind(mapper, clause, bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def commit_keeping_objects() -> None:
    """Commit, but keep the loaded objects' values instead of expiring them.

    For a request that has written exactly what it holds (under the instance lock) and only builds its
    response afterwards: without this every object the response touches would be read again.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


_MEMO = "hazardloop.transaction_memo"


def transaction_memo() -> dict:
    """A dict that lives as long as the current transaction: forgotten at its commit or rollback."""
    return db.session().info.setdefault(_MEMO, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_over(session: Session) -> None:
    session.info.pop(_MEMO, None)


_UNDO = "hazardloop.undo_unless_committed"


def undo_unless_committed(action: Callable[[], None]) -> None:
    """Run `action` if the current transaction ends without a commit (rolled back, or closed at the end of the
    request): to undo what the transaction did outside the database, such as a file it wrote."""
    db.session().info.setdefault(_UNDO, []).append(action)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release is not the transaction's commit
        session.info.pop(_UNDO, None)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction; after_commit has taken what it kept
        for action in session.info.pop(_UNDO, []):
            action()
