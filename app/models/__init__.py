"""SQLAlchemy 2.0 typed models: tables and nothing else."""
from app.models.base import Base
from app.models.checklist import Checklist, ChecklistItem, CheckResult, CheckStatus, CheckTask
from app.models.designer import FormVersion, ProcessDraft
from app.models.document import DocumentTemplate
from app.models.extension import ExtensionRequest, ExtensionStatus
from app.models.hazard import (
    FINAL_STATUSES,
    Attachment,
    AuditEvent,
    AuditHead,
    Hazard,
    HazardRepeat,
    HazardStatus,
    StatusTerm,
)
from app.models.idempotency import IdempotencyKey
from app.models.importing import ImportJob, ImportStatus
from app.models.notification import Notification, OutboxEmail, OutboxStatus
from app.models.org import (
    REGION_TIER,
    ApiToken,
    EnterpriseScale,
    Jurisdiction,
    LoginSession,
    Organisation,
    OrgKind,
    OrgStatus,
    Position,
    Region,
    RegionKind,
    Role,
    User,
    UserPosition,
)
from app.models.process import (
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    ProcessRule,
    ProcessVersion,
    StepFailure,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
)
from app.models.public_report import PublicReport, PublicReportStatus, PublicReward, RewardStatus
from app.models.report import PeriodicReport, ReportStatus
from app.models.statistics import HazardStatsDaily

__all__ = [
    "FINAL_STATUSES",
    "REGION_TIER",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "AuditHead",
    "Base",
    "CheckResult",
    "CheckStatus",
    "CheckTask",
    "Checklist",
    "ChecklistItem",
    "DocumentTemplate",
    "EnterpriseScale",
    "ExtensionRequest",
    "ExtensionStatus",
    "FormVersion",
    "Hazard",
    "HazardRepeat",
    "HazardStatsDaily",
    "HazardStatus",
    "HumanTask",
    "IdempotencyKey",
    "ImportJob",
    "ImportStatus",
    "InstanceStatus",
    "Jurisdiction",
    "LoginSession",
    "Notification",
    "OrgKind",
    "OrgStatus",
    "Organisation",
    "OutboxEmail",
    "OutboxStatus",
    "PeriodicReport",
    "Position",
    "ProcessDraft",
    "ProcessInstance",
    "ProcessRule",
    "ProcessVersion",
    "PublicReport",
    "PublicReportStatus",
    "PublicReward",
    "Region",
    "RegionKind",
    "ReportStatus",
    "RewardStatus",
    "Role",
    "StatusTerm",
    "StepFailure",
    "TaskStatus",
    "Timer",
    "TimerKind",
    "TimerStatus",
    "User",
    "UserPosition",
]
