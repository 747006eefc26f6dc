from django.contrib.auth import authenticate, get_user_model, login, logout
from rest_framework import generics, permissions, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import CsrfExemptSessionAuthentication
from .serializers import LoginSerializer, UserSerializer, UserShortSerializer

User = get_user_model()


class LoginView(APIView):
    authentication_classes = [CsrfExemptSessionAuthentication]
    permission_classes = [permissions.AllowAny]
    throttle_scope = "login"

    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            return Response(
                {"success": False, "error": "Invalid credentials"},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        login(request, user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"success": True, "token": token.key, "user": UserSerializer(user).data})


class LogoutView(APIView):
    authentication_classes = [CsrfExemptSessionAuthentication]

    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        logout(request)
        return Response({"success": True})


class MeView(generics.RetrieveUpdateAPIView):
    serializer_class = UserSerializer

    def get_object(self):
        return self.request.user


class StudentListView(generics.ListAPIView):
    serializer_class = UserShortSerializer

    def get_queryset(self):
        user = self.request.user
        if user.role == User.Role.PARENT:
            return user.children.all()
        if user.role in (User.Role.TEACHER, User.Role.TUTOR):
            return User.objects.filter(
                role=User.Role.STUDENT, enrollments__teacher=user
            ).distinct()
        if user.is_staff:
            return User.objects.filter(role=User.Role.STUDENT)
        return User.objects.none()


class TelegramLinkView(APIView):
    def post(self, request):
        telegram_id = request.data.get("telegram_id")
        if not telegram_id:
            return Response(
                {"success": False, "error": "telegram_id is required"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        request.user.telegram_id = int(telegram_id)
        request.user.save(update_fields=["telegram_id"])
        return Response({"success": True})
