"""Drive the tripleo-sim Redfish emulator with Debian's python3-sushy.

Usage: sushy_client.py BASE_URL USERNAME PASSWORD_FILE SYSTEM_ID IMAGE_URL

Prints one line per step; the Go test (redfish_test.go) checks them and
the machine's state. Exits non-zero on the first failure.
"""
import sys

import sushy


def main():
    base, user, pwfile, system_id, image = sys.argv[1:6]
    with open(pwfile) as f:
        password = f.readline().rstrip("\n")
    root = sushy.Sushy(base, username=user, password=password)
    members = sorted(s.path for s in root.get_system_collection().get_members())
    print("systems", " ".join(members))
    system = root.get_system("/redfish/v1/Systems/" + system_id)
    print("power", system.power_state.value)
    system.reset_system(sushy.ResetType.ON)
    system.refresh()
    print("power", system.power_state.value)
    system.set_system_boot_options(
        sushy.BootSource.CD, enabled=sushy.BootSourceOverrideEnabled.ONCE,
        mode=sushy.BootSourceOverrideMode.UEFI)
    system.refresh()
    print("boot", system.boot.target.value, system.boot.enabled.value, system.boot.mode.value)
    manager = system.managers[0]
    vmedia = manager.virtual_media.get_members()[0]
    vmedia.insert_media(image, inserted=True, write_protected=True)
    vmedia.refresh()
    print("media", vmedia.image, vmedia.inserted)
    system.reset_system(sushy.ResetType.FORCE_RESTART)
    vmedia.eject_media()
    vmedia.refresh()
    print("media", vmedia.image, vmedia.inserted)
    try:
        system.reset_system("Dance")
    except sushy.exceptions.InvalidParameterValueError:
        print("refused invalid reset type")
    try:
        sushy.Sushy(base, username=user, password=password + "-wrong",
                    auth=None).get_system_collection()
        print("wrong password accepted")
    except (sushy.exceptions.AccessError, sushy.exceptions.ConnectionError) as e:
        print("wrong password refused")


if __name__ == "__main__":
    main()
