"""moto_server, with one correction that the project's local stack needs.

moto 5.2.5 gives every image CreateImage or CopyImage makes the root device type "standard" (its
Ami default), where EC2 says "ebs" for an image of an EBS-backed instance and keeps the source's
type on a copy. Packer's amazon-ebs builder refuses a source image that is not "ebs", so the boot
test (which launches an instance from the image the build made) could not run against moto.
Here an image made from an instance is "ebs" and a copy takes its source's type, as on EC2; base
images (MOTO_AMIS_PATH, scripts/local/amis.json) keep what their file says.

Run with the Python of moto's virtual environment, with moto_server's arguments
(scripts/local/moto.ts starts it so).
"""
import sys

import moto.ec2.models.amis as amis
from moto.server import main

_init = amis.Ami.__init__


def _init_like_ec2(self, *args, **kwargs):
    if "root_device_type" not in kwargs:
        source = kwargs.get("source_ami")
        if source is not None:
            kwargs["root_device_type"] = source.root_device_type
        elif kwargs.get("instance") is not None:
            kwargs["root_device_type"] = "ebs"
    _init(self, *args, **kwargs)


amis.Ami.__init__ = _init_like_ec2

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
