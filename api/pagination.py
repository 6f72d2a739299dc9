"""Lists are cursor-paginated: stable under inserts, constant cost per page however deep."""

from rest_framework.pagination import CursorPagination


class ShopCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "pk"
