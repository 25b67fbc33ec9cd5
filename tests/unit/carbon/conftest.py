from tests.fakes.carbon_apis import EM_TOKEN, NOW, WT_PASS, WT_USER, em_value, fake_api  # noqa: F401  (the fixture)
