#!/usr/bin/env python
"""
Rebuild backend/db.sqlite3 with demo data.

The schema is migrated to the state of the last development snapshot:
every app is fully migrated except ``invoices``, which stays at
0003_invoice_enrollment_and_more.

Usage (from backend/):
    python scripts/make_demo_db.py
"""
import os
import sqlite3
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parent.parent
DB_PATH = BACKEND_DIR / "db.sqlite3"
INVOICES_TARGET = "0003_invoice_enrollment_and_more"
DEMO_PASSWORD = "thebot-demo-2025"

sys.path.insert(0, str(BACKEND_DIR))
os.environ["DATABASE_URL"] = f"sqlite:///{DB_PATH}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402


def at(year, month, day, hour=12, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def migrate():
    call_command("migrate", "invoices", INVOICES_TARGET, interactive=False, verbosity=0)
    for config in apps.get_app_configs():
        if config.label == "invoices" or not (Path(config.path) / "migrations").is_dir():
            continue
        call_command("migrate", config.label, interactive=False, verbosity=0)


def create_users():
    from accounts.models import User

    password = make_password(DEMO_PASSWORD)
    rows = [
        ("admin", "Админ", "Платформы", "admin@the-bot.local", User.Role.ADMIN, None, True),
        ("m.ivanova", "Мария", "Иванова", "m.ivanova@the-bot.local", User.Role.TEACHER, None, False),
        ("s.petrov", "Сергей", "Петров", "s.petrov@the-bot.local", User.Role.TEACHER, None, False),
        ("o.smirnova", "Ольга", "Смирнова", "o.smirnova@the-bot.local", User.Role.TUTOR, 400112233, False),
        ("e.kuznetsova", "Елена", "Кузнецова", "e.kuznetsova@mail.local", User.Role.PARENT, 400223344, False),
        ("a.sokolov", "Андрей", "Соколов", "a.sokolov@mail.local", User.Role.PARENT, None, False),
        ("dima.k", "Дмитрий", "Кузнецов", "dima.k@mail.local", User.Role.STUDENT, 400334455, False),
        ("anya.k", "Анна", "Кузнецова", "anya.k@mail.local", User.Role.STUDENT, None, False),
        ("misha.s", "Михаил", "Соколов", "misha.s@mail.local", User.Role.STUDENT, None, False),
    ]
    users = {}
    for index, (username, first, last, email, role, telegram_id, staff) in enumerate(rows):
        users[username] = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            email=email,
            role=role,
            telegram_id=telegram_id,
            is_staff=staff,
            is_superuser=staff,
            password=password,
            date_joined=at(2025, 9, 1 + index, 10),
        )

    for child, parent in (("dima.k", "e.kuznetsova"), ("anya.k", "e.kuznetsova"), ("misha.s", "a.sokolov")):
        users[child].parent = users[parent]
        users[child].save(update_fields=["parent"])
    return users


def create_materials(users):
    from materials.models import Enrollment, Material, Subject

    math = Subject.objects.create(name="Математика", description="Алгебра и геометрия, 7–9 класс", color="#3B82F6")
    physics = Subject.objects.create(name="Физика", description="Механика и электричество", color="#10B981")
    english = Subject.objects.create(name="Английский язык", description="Grammar & speaking", color="#F59E0B")

    enrollments = {}
    for student, subject, teacher in (
        ("dima.k", math, "m.ivanova"),
        ("dima.k", physics, "s.petrov"),
        ("anya.k", english, "o.smirnova"),
        ("misha.s", math, "m.ivanova"),
        ("misha.s", english, "o.smirnova"),
    ):
        enrollments[(student, subject.name)] = Enrollment.objects.create(
            student=users[student], subject=subject, teacher=users[teacher]
        )

    materials = [
        ("Квадратные уравнения", math, "m.ivanova", Material.Type.LESSON, True, ["dima.k", "misha.s"]),
        ("Теорема Пифагора: задачи", math, "m.ivanova", Material.Type.DOCUMENT, False, ["misha.s"]),
        ("Законы Ньютона", physics, "s.petrov", Material.Type.PRESENTATION, True, ["dima.k"]),
        ("Present Perfect vs Past Simple", english, "o.smirnova", Material.Type.VIDEO, False, ["anya.k", "misha.s"]),
        ("Irregular verbs — тест", english, "o.smirnova", Material.Type.TEST, False, ["anya.k"]),
    ]
    for index, (title, subject, author, kind, public, assigned) in enumerate(materials):
        material = Material.objects.create(
            title=title,
            description=f"{subject.name}: {title}",
            content="",
            subject=subject,
            author=users[author],
            type=kind,
            video_url="https://video.the-bot.local/lessons/present-perfect" if kind == Material.Type.VIDEO else "",
            is_public=public,
        )
        material.assigned_to.set([users[name] for name in assigned])
        Material.objects.filter(pk=material.pk).update(
            created_at=at(2025, 9, 15 + index * 3, 9), updated_at=at(2025, 9, 15 + index * 3, 9)
        )
    return {"math": math, "physics": physics, "english": english}, enrollments


def create_assignments(users, subjects):
    from assignments.models import Assignment, AssignmentSubmission

    a1 = Assignment.objects.create(
        title="Домашняя работа №5: квадратные уравнения",
        description="Решить задачи 1–10 из раздела 3.2",
        author=users["m.ivanova"],
        subject=subjects["math"],
        status=Assignment.Status.PUBLISHED,
        publish_at=at(2025, 12, 1, 8),
        due_date=at(2025, 12, 8, 23, 59),
    )
    a1.assigned_to.set([users["dima.k"], users["misha.s"]])
    a2 = Assignment.objects.create(
        title="Лабораторная: второй закон Ньютона",
        description="Оформить отчёт по лабораторной работе",
        author=users["s.petrov"],
        subject=subjects["physics"],
        status=Assignment.Status.PUBLISHED,
        publish_at=None,
        due_date=at(2025, 12, 20, 23, 59),
    )
    a2.assigned_to.set([users["dima.k"]])
    a3 = Assignment.objects.create(
        title="Essay: My winter holidays",
        description="150–200 words",
        author=users["o.smirnova"],
        subject=subjects["english"],
        status=Assignment.Status.DRAFT,
        publish_at=at(2026, 1, 10, 9),
        due_date=at(2026, 1, 17, 23, 59),
    )
    a3.assigned_to.set([users["anya.k"], users["misha.s"]])

    AssignmentSubmission.objects.create(
        assignment=a1,
        student=users["dima.k"],
        content="Решения во вложении, задачи 7 и 9 не получились.",
        status=AssignmentSubmission.Status.GRADED,
        score=82,
        feedback="Хорошо, разберём 7 и 9 на занятии.",
        graded_at=at(2025, 12, 9, 18),
    )
    AssignmentSubmission.objects.create(
        assignment=a1,
        student=users["misha.s"],
        content="Все задачи решены.",
    )


def create_invoices(users, enrollments):
    from invoices.models import Invoice

    rows = [
        # student, parent, subject, amount, status, due, paid, link enrollment
        ("dima.k", "e.kuznetsova", "Математика", "6000.00", Invoice.Status.PAID, date(2025, 10, 5), at(2025, 10, 3, 20), True),
        ("dima.k", "e.kuznetsova", "Математика", "6000.00", Invoice.Status.SENT, date(2025, 11, 5), None, False),
        ("anya.k", "e.kuznetsova", "Английский язык", "4800.00", Invoice.Status.VIEWED, date(2025, 12, 15), None, False),
        ("misha.s", "a.sokolov", "Английский язык", "4800.00", Invoice.Status.DRAFT, date(2026, 1, 15), None, True),
        ("misha.s", "a.sokolov", "Математика", "7500.00", Invoice.Status.CANCELLED, date(2025, 11, 20), None, False),
    ]
    for index, (student, parent, subject, amount, status, due, paid_at, linked) in enumerate(rows):
        enrollment = enrollments[(student, subject)]
        invoice = Invoice.objects.create(
            tutor=enrollment.teacher,
            parent=users[parent],
            student=users[student],
            enrollment=enrollment if linked else None,
            amount=Decimal(amount),
            description=f"Занятия: {subject}, {due:%m.%Y}",
            status=status,
            due_date=due,
            paid_at=paid_at,
            payment_id=f"2f{index:02d}a1c0-000f-5000-9000-1b6e4a{index:06d}" if paid_at else "",
        )
        created = timezone.make_aware(datetime.combine(due - timedelta(days=10), datetime.min.time()))
        Invoice.objects.filter(pk=invoice.pk).update(
            created_at=created,
            updated_at=paid_at or created,
            sent_at=created + timedelta(hours=1) if status != Invoice.Status.DRAFT else None,
        )


def create_tokens(users):
    from rest_framework.authtoken.models import Token

    for username in ("m.ivanova", "e.kuznetsova"):
        Token.objects.create(user=users[username])


def main():
    if DB_PATH.exists():
        DB_PATH.unlink()

    migrate()
    users = create_users()
    subjects, enrollments = create_materials(users)
    create_assignments(users, subjects)
    create_invoices(users, enrollments)
    create_tokens(users)
    connection.close()

    db = sqlite3.connect(DB_PATH)
    db.execute("VACUUM")
    db.close()
    print(f"Demo database written to {DB_PATH} ({DB_PATH.stat().st_size // 1024} KB)")
    print(f"Demo users share the password: {DEMO_PASSWORD}")


if __name__ == "__main__":
    main()
