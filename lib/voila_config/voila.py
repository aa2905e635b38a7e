# Voila settings of `bi serve voila` (lib/serve.py points --Voila.config_file_paths here, and only
# here: no other voila.py can switch the sign-in off). See lib/voila_auth.py.
from lib.voila_auth import BIIdentityProvider, prelaunch_hook

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file
c.Voila.identity_provider_class = BIIdentityProvider
c.VoilaConfiguration.prelaunch_hook = prelaunch_hook
c.VoilaConfiguration.preheat_kernel = False  # a pre-started kernel would skip the identity cell
