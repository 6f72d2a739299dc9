"""The storefront's template tags and filters (`{% load shop_tags %}`)."""
