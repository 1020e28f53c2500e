"""Patient engagement: diary, mood check-ins, secure messages, internal notes, SOS.

Who sees what is enforced here, with restrictive RLS policies on top of the tenant one
(app_current_role() '' is a system actor: a command or a job with a clinic set):
- diary_entry: the patient reads and writes their own; admins and practitioners read
  only rows with `private = false`; receptionists nothing.
- mood_entry, sos_event: the patient writes and reads their own; admins and
  practitioners read them.
- patient_message: the patient's thread; staff rows are written as `staff`, patient
  rows as `patient`, each by the acting user; only the read receipt of the other side's
  messages can be updated (column grant).
- internal_note: admins and practitioners only; the patient role has no way in.

`sos_recipients()` resolves who an SOS alerts (active admins, and the user of the
patient's assigned practitioner) for the patient acting: patients may not read staff
user rows, so the function runs its one query as the system actor (app.role '').

Revision ID: 0013_engagement
Revises: 0009_scheduling
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from fisioflow.core.migration_helpers import app_role, enable_tenant_rls

revision = "0013_engagement"
down_revision = "0009_scheduling"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)
SELF = "app_current_role() = 'patient' and patient_id = app_current_patient()"
STAFF = "app_current_role() in ('admin', 'practitioner')"
SYSTEM = "app_current_role() = ''"
TABLES = ("diary_entry", "mood_entry", "patient_message", "internal_note", "sos_event")

SOS_RECIPIENTS = """
create function sos_recipients() returns uuid[]
language plpgsql volatile
as $$
declare
    acting constant text := current_setting('app.role', true);
    found uuid[];
begin
    -- Trap: a function's own SET clause cannot name app.role (placeholder settings need
    -- superuser there), so the system actor is set and restored by hand; after an
    -- error, the rollback (of the transaction or a savepoint) undoes the change.
    perform set_config('app.role', '', true);
    select coalesce(array_agg(u.id order by u.id), '{}') into found
    from user_account u
    where u.tenant_id = app_current_tenant() and u.is_active
      and (u.role = 'admin' or u.id = (
          select pr.user_id from patient p
          join practitioner pr on pr.tenant_id = p.tenant_id and pr.id = p.practitioner_id
          where p.tenant_id = app_current_tenant() and p.id = app_current_patient()
            and pr.status = 'active'));
    perform set_config('app.role', coalesce(acting, ''), true);
    return found;
end
$$
"""


def _table(
    name: str,
    *columns: sa.Column[sa.types.TypeEngine[object]],
    checks: dict[str, str],
    users: tuple[str, ...] = (),
) -> None:
    op.create_table(
        name,
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        *columns,
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["clinic.id"], name=f"fk_{name}_tenant_id_clinic", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patient.tenant_id", "patient.id"],
            name=f"fk_{name}_tenant_id_patient_id_patient",
        ),
        *(
            sa.ForeignKeyConstraint(
                ["tenant_id", user],
                ["user_account.tenant_id", "user_account.id"],
                name=f"fk_{name}_tenant_id_{user}_user_account",
            )
            for user in users
        ),
        # op.f(): the names are final; the naming convention would prefix them again.
        *(sa.CheckConstraint(sql, name=op.f(f"ck_{name}_{ck}")) for ck, sql in checks.items()),
    )
    op.create_index(f"ix_{name}_tenant_id_patient_id_id", name, ["tenant_id", "patient_id", "id"])
    enable_tenant_rls(name)


def _create_tables() -> None:
    _table(
        "diary_entry",
        sa.Column("title", sa.String(200)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("mood", sa.SmallInteger),
        sa.Column("tags", ARRAY(sa.String(40)), server_default="{}", nullable=False),
        sa.Column("private", sa.Boolean, server_default="false", nullable=False),
        checks={
            "text_length": "char_length(text) between 1 and 5000",
            "mood_range": "mood between 1 and 5",
            "tags_count": "cardinality(tags) <= 10",
        },
    )
    _table(
        "mood_entry",
        sa.Column("mood", sa.SmallInteger, nullable=False),
        sa.Column("energy", sa.SmallInteger),
        sa.Column("note", sa.Text),
        checks={
            "mood_range": "mood between 1 and 5",
            "energy_range": "energy between 0 and 3",
            "note_length": "char_length(note) <= 1000",
        },
    )
    _table(
        "patient_message",
        sa.Column("sender_user_id", ID, nullable=False),
        sa.Column("sender_role", sa.String(10), nullable=False),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("read_at", TS),
        sa.Column("read_by", ID),
        checks={
            "sender_role": "sender_role in ('patient', 'staff')",
            "body_length": "char_length(body) between 1 and 5000",
            "read_receipt": "(read_at is null) = (read_by is null)",
        },
        users=("sender_user_id", "read_by"),
    )
    _table(
        "internal_note",
        sa.Column("author_user_id", ID, nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        checks={"body_length": "char_length(body) between 1 and 5000"},
        users=("author_user_id",),
    )
    _table(
        "sos_event",
        sa.Column("message", sa.Text),
        sa.Column("location", sa.Text),
        sa.Column("recipient_user_ids", ARRAY(ID), nullable=False),
        sa.Column("acknowledged_at", TS),
        sa.Column("acknowledged_by", ID),
        checks={
            "message_length": "char_length(message) <= 1000",
            "location_length": "char_length(location) <= 300",
            "acknowledgement": "(acknowledged_at is null) = (acknowledged_by is null)",
        },
        users=("acknowledged_by",),
    )


def _policy(table: str, name: str, command: str, sql: str) -> None:
    clause = "with check" if command == "insert" else "using"
    op.execute(f"create policy {name} on {table} as restrictive for {command} {clause} ({sql})")


def _diary_policies() -> None:
    _policy(
        "diary_entry",
        "diary_readers",
        "select",
        f"({SELF}) or ({STAFF} and not private) or {SYSTEM}",
    )
    for command in ("insert", "update", "delete"):
        _policy("diary_entry", f"diary_{command}", command, f"({SELF}) or {SYSTEM}")


def _append_only_policies() -> None:
    for table in ("mood_entry", "sos_event"):
        _policy(table, f"{table}_readers", "select", f"({SELF}) or {STAFF} or {SYSTEM}")
        _policy(table, f"{table}_writers", "insert", f"({SELF}) or {SYSTEM}")
    _policy("sos_event", "sos_event_acknowledgers", "update", f"{STAFF} or {SYSTEM}")
    _policy("internal_note", "internal_note_readers", "select", f"{STAFF} or {SYSTEM}")
    _policy(
        "internal_note",
        "internal_note_writers",
        "insert",
        f"({STAFF} and author_user_id = app_current_user()) or {SYSTEM}",
    )


def _message_policies() -> None:
    me = "sender_user_id = app_current_user()"
    _policy("patient_message", "message_readers", "select", f"({SELF}) or {STAFF} or {SYSTEM}")
    _policy(
        "patient_message",
        "message_writers",
        "insert",
        f"({SELF} and sender_role = 'patient' and {me})"
        f" or ({STAFF} and sender_role = 'staff' and {me}) or {SYSTEM}",
    )
    # A read receipt is written by the other side of the thread.
    _policy(
        "patient_message",
        "message_receipts",
        "update",
        f"({SELF} and sender_role = 'staff') or ({STAFF} and sender_role = 'patient') or {SYSTEM}",
    )


def _grants() -> None:
    role = app_role()
    for table in ("mood_entry", "patient_message", "internal_note", "sos_event"):
        op.execute(f"revoke update, delete, truncate on {table} from {role}")
    op.execute(f"grant update (read_at, read_by, updated_at) on patient_message to {role}")
    op.execute(
        f"grant update (acknowledged_at, acknowledged_by, updated_at) on sos_event to {role}"
    )
    op.execute("revoke all on function sos_recipients() from public")
    op.execute(f"grant execute on function sos_recipients() to {role}")


def upgrade() -> None:
    _create_tables()
    _diary_policies()
    _append_only_policies()
    _message_policies()
    op.execute(SOS_RECIPIENTS)
    _grants()


def downgrade() -> None:
    op.execute("drop function sos_recipients()")
    for table in reversed(TABLES):
        op.drop_table(table)
