from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsTeacherOrTutor(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role in ("teacher", "tutor", "admin"))


class IsTeacherOrReadOnly(BasePermission):
    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return IsTeacherOrTutor().has_permission(request, view)


class IsTutor(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role in ("tutor", "admin"))
