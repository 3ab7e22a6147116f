# The boot test of a Couchbase Server image: launch one instance from the NEW image, wait for it
# to boot, run boot-check.sh on it, download its JSON report, and let Packer terminate the
# instance and delete its temporary key pair and security group. No image is made
# (skip_create_ami). Run by the BootTest resource (providers/bootTestProvider.ts), which parses the
# report and fails `pulumi up` on any failed check.
#
# Launched like the builder (../couchbase-cloud.pkr.hcl): same subnet and VPC rules, SSH only from
# the given CIDRs (never 0.0.0.0/0), IMDSv2 required, the stack's tags plus Purpose=boot-test and
# an expiry on the instance, its volumes, the key pair and the security group, so the janitor can
# find what a killed test leaves. Packer's own temporary key pair and security group, as for the
# build; an interrupt (SIGINT) runs Packer's cleanup.
#
# The launch settings the test instance shares with the builder (region, instance type, network,
# SSH, the temporary key pair's name, the local emulator's settings) are declared once, in
# ../couchbase-cloud.pkr.hcl: the provider runs Packer on a folder it assembles from this folder
# and a launch-variables.pkr.hcl generated from those declarations (providers/bootTest/
# launchVariables.ts). Only the test's own variables are declared here.
#
# This folder is not part of the image's fingerprint (../.imageignore): changing the checks
# re-tests the same image without rebuilding it.

packer {
  required_version = ">= 1.16.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "= 1.8.2"
    }
  }
}

variable "image_id" {
  type        = string
  description = "The image under test: the instance is launched from exactly this image."
  validation {
    condition     = can(regex("^ami-[0-9a-f]{8,17}$", var.image_id))
    error_message = "The image_id must be an image id such as \"ami-0123456789abcdef0\"."
  }
}

variable "image_name" {
  type        = string
  description = "Name of the image under test (the Name tag says <image_name>-boot-test). No image of this name is made."
  validation {
    condition     = can(regex("^[a-zA-Z0-9()\\[\\] ./'@_-]{3,117}$", var.image_name))
    error_message = "The image_name must be 3-117 characters of letters, digits and ()[] ./'@_-."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for the test instance, its volumes, the temporary key pair and security group (the stack's tags, ExpiresAt, Purpose=boot-test)."
  default     = {}
}

variable "report_path" {
  type        = string
  description = "Local path the check report is downloaded to (the provider reads it)."
  validation {
    condition     = length(var.report_path) > 0
    error_message = "The report_path must not be empty."
  }
}

variable "emulation_limits" {
  type        = list(string)
  description = "Units that fail only because of the platform's emulation (e.g. an arm64 image under user-mode qemu), named to the check as such. Empty on real instances."
  default     = []
  validation {
    condition     = alltrue([for u in var.emulation_limits : can(regex("^[A-Za-z0-9@_.:-]+$", u))])
    error_message = "Each emulation_limits entry must be a systemd unit name."
  }
}

locals {
  tags = merge({ Name = "${var.image_name}-boot-test" }, var.tags)

  # Where the check script and its report live on the instance.
  check_script = "/tmp/boot-check.sh"
  key_script   = "/tmp/boot-test-launch-key.sh"
  report       = "/tmp/boot-report.json"
  limits       = length(var.emulation_limits) > 0 ? " --emulation-limits ${join(",", var.emulation_limits)}" : ""
}

source "amazon-ebs" "boot-test" {
  region        = var.region
  instance_type = var.instance_type
  source_ami    = var.image_id

  # A test, not a build: no image, no snapshot. (ami_name is still required by the plugin.)
  skip_create_ami = true
  ami_name        = "${var.image_name}-boot-test"

  vpc_id    = var.vpc_id != "" ? var.vpc_id : null
  subnet_id = var.subnet_id != "" ? var.subnet_id : null
  # As for the builder: a custom subnet without public IPs asks for one, or SSH goes to the private address.
  associate_public_ip_address = var.associate_public_ip_address ? true : null
  ssh_interface               = var.ssh_interface != "" ? var.ssh_interface : null

  # As for the builder: SSH from the given CIDRs only, else only from our own public IP.
  temporary_security_group_source_cidrs     = length(var.ssh_cidrs) > 0 ? var.ssh_cidrs : null
  temporary_security_group_source_public_ip = length(var.ssh_cidrs) == 0
  temporary_key_pair_name                   = var.temporary_key_pair_name != "" ? var.temporary_key_pair_name : null

  communicator = "ssh"
  ssh_username = var.ssh_username
  ssh_host     = var.ssh_host != "" ? var.ssh_host : null
  ssh_port     = var.ssh_port != 0 ? var.ssh_port : null
  ssh_timeout  = "10m"

  # Bounded waits whatever AWS_MAX_ATTEMPTS says (as in the build template).
  aws_polling {
    delay_seconds = 5
    max_attempts  = 360
  }

  # IMDSv2 only: the agent's identity read must work with tokens, as on every node.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  run_tags        = local.tags
  run_volume_tags = local.tags

  custom_endpoint_ec2        = var.ec2_endpoint != "" ? var.ec2_endpoint : null
  skip_credential_validation = var.emulator
  skip_region_validation     = var.emulator
  skip_metadata_api_check    = var.emulator
}

build {
  name    = "boot-test"
  sources = ["source.amazon-ebs.boot-test"]

  provisioner "file" {
    source      = "${path.root}/boot-check.sh"
    destination = local.check_script
  }

  provisioner "file" {
    source      = "${path.root}/launch-key.sh"
    destination = local.key_script
  }

  # The check writes its report and exits 0 whether the checks pass or fail (the provider reads
  # the verdict from the report); 1 (cannot write) or 2 (usage) fail the build.
  #
  # The key the test logged in with is the only one the image may authorise. Packer fills
  # build.SSHPublicKey only for keys it generates itself; for the temporary key pair EC2 creates
  # it is empty (amazon plugin 1.8.2: builder/common/step_key_pair.go upstream keeps only the
  # private key), so the key is read where EC2 publishes the launch key: the instance's own
  # metadata (IMDSv2; launch-key.sh, with curl or bash's /dev/tcp).
  provisioner "shell" {
    execute_command = "bash {{ .Path }}"
    inline = [
      "set -o errexit -o nounset -o pipefail",
      "key='${build.SSHPublicKey}'",
      "if [ -z \"$key\" ]; then key=\"$(bash ${local.key_script})\"; fi",
      "sudo bash ${local.check_script} --out ${local.report} --expect-instance-id ${build.ID} --expect-region ${var.region} --authorized-key \"$key\"${local.limits}",
      "sudo chmod 0644 ${local.report}",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = local.report
    destination = var.report_path
  }
}
