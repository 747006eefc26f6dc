from django.contrib import admin

from .models import Enrollment, Material, Subject


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ("name", "color")
    search_fields = ("name",)


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ("title", "subject", "author", "type", "is_public", "created_at")
    list_filter = ("type", "is_public", "subject")
    search_fields = ("title", "description")
    filter_horizontal = ("assigned_to",)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("student", "subject", "teacher", "is_active", "enrolled_at")
    list_filter = ("is_active", "subject")
