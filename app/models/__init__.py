"""SQLAlchemy 2.0 typed models: tables and nothing else."""
from app.models.base import Base
from app.models.hazard import Attachment, AuditEvent, AuditHead, Hazard
from app.models.org import ApiToken, Jurisdiction, Organisation, OrgKind, Region, RegionKind, Role, User
from app.models.process import (
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    Timer,
    TimerStatus,
)

__all__ = [
    "ApiToken", "Attachment", "AuditEvent", "AuditHead", "Base", "Hazard", "HumanTask", "InstanceStatus",
    "Jurisdiction", "OrgKind", "Organisation", "ProcessInstance", "ProcessVersion", "Region", "RegionKind",
    "Role", "TaskStatus", "Timer", "TimerStatus", "User",
]
