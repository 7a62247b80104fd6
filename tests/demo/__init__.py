"""Tests of rmsewatch.demo."""
