from rest_framework.throttling import UserRateThrottle


class RoleBasedRateThrottle(UserRateThrottle):
    """Pick the throttle scope from the user's role (student/teacher/tutor/admin)."""

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if user.is_staff or user.role == "admin":
                self.scope = "admin"
            elif user.role in ("student", "teacher", "tutor"):
                self.scope = user.role
            else:
                self.scope = "user"
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class BurstRateThrottle(UserRateThrottle):
    scope = "burst"
