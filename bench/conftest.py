"""The benchmarks load the test suite's fixtures (`-p tests.conftest`) and its browser setup."""

from tests.browser.conftest import browser_type_launch_args  # noqa: F401 - fixture
