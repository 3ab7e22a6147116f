# Couchbase Server node image for AWS: Ubuntu LTS + Couchbase Server (pinned, held) + host tuning
# (THP off, swappiness 1) + the dp-agent, cleaned and validated as the last step.
#
# One region only: copies to other regions are made by the Pulumi program (aws.ec2.AmiCopy), so
# there is no ami_regions here. Never force_deregister / force_delete_snapshot: image names are
# unique per build and old images are removed by the program or the janitor.
#
# Run by hand: see docs/image.md. Local emulator (moto) settings are all off by default.

packer {
  required_version = ">= 1.16.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "= 1.8.2"
    }
  }
}

### Build location and base image

variable "region" {
  type        = string
  description = "AWS region the image is built in (copies to other regions are the Pulumi program's job)."
  default     = "us-east-1"
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "The region must be an AWS region name such as \"us-east-1\"."
  }
}

variable "source_ami" {
  type        = string
  description = "Explicit base image id. Empty: the newest image matching source_ami_name_filter and source_ami_owners."
  default     = ""
  validation {
    condition     = var.source_ami == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.source_ami))
    error_message = "The source_ami must be empty or an image id such as \"ami-0123456789abcdef0\"."
  }
}

variable "source_ami_name_filter" {
  type        = string
  description = "Name filter for the base image when source_ami is empty (default: Ubuntu 24.04 LTS, amd64, gp3)."
  default     = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
  validation {
    condition     = length(var.source_ami_name_filter) > 0
    error_message = "The source_ami_name_filter must not be empty."
  }
}

variable "source_ami_owners" {
  type        = list(string)
  description = "Owners trusted for the base image when source_ami is empty (default: Canonical)."
  default     = ["099720109477"]
  validation {
    condition     = length(var.source_ami_owners) > 0 && alltrue([for o in var.source_ami_owners : can(regex("^([0-9]{12}|amazon|aws-marketplace|self)$", o))])
    error_message = "The source_ami_owners must be a non-empty list of 12-digit account ids or amazon, aws-marketplace, self."
  }
}

variable "instance_type" {
  type        = string
  description = "Builder instance type."
  default     = "t3.medium"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance_type must look like \"t3.medium\"."
  }
}

variable "root_volume_size" {
  type        = number
  description = "Size of the image's gp3 root volume in GiB."
  default     = 30
  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 16384
    error_message = "The root_volume_size must be between 8 and 16384 GiB."
  }
}

variable "root_device_name" {
  type        = string
  description = "Root device name of the base image, so the gp3 mapping resizes the root volume (/dev/sda1 on Ubuntu, /dev/xvda on Debian)."
  default     = "/dev/sda1"
  validation {
    condition     = can(regex("^/dev/[a-z0-9]+$", var.root_device_name))
    error_message = "The root_device_name must look like /dev/sda1 or /dev/xvda."
  }
}

### Couchbase Server

variable "couchbase_edition" {
  type        = string
  description = "Couchbase Server edition: enterprise (package couchbase-server) or community (couchbase-server-community)."
  default     = "enterprise"
  validation {
    condition     = contains(["enterprise", "community"], var.couchbase_edition)
    error_message = "The couchbase_edition must be \"enterprise\" or \"community\"."
  }
}

variable "couchbase_version" {
  type        = string
  description = "Exact Couchbase Server release to install and hold (X.Y.Z)."
  default     = "8.0.0"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.couchbase_version))
    error_message = "The couchbase_version must be an exact release such as \"8.0.0\"."
  }
}

variable "couchbase_package_source" {
  type        = string
  description = "\"download\" (the exact .deb from couchbase_package_url, refused unless its sha256 is couchbase_package_sha256), \"repository\" (Couchbase's apt repository, verified by the pins below) or a local folder holding the couchbase-server .deb of couchbase_version (offline builds; uploaded to the builder)."
  default     = "download"
  validation {
    condition     = length(var.couchbase_package_source) > 0
    error_message = "The couchbase_package_source must be \"download\", \"repository\" or a folder path."
  }
}

variable "couchbase_package_url" {
  type        = string
  description = "https URL of the Couchbase Server .deb (download mode): https://packages.couchbase.com/releases/<version>/couchbase-server-<edition>_<version>-linux_<arch>.deb. Required in download mode (the install fails closed without it)."
  default     = ""
  validation {
    condition     = var.couchbase_package_url == "" || can(regex("^https://[^/]+/.+\\.deb$", var.couchbase_package_url))
    error_message = "The couchbase_package_url must be an https URL of a .deb (or empty outside download mode)."
  }
}

variable "couchbase_package_sha256" {
  type        = string
  description = "sha256 the downloaded .deb must have: the value Couchbase publishes at <couchbase_package_url>.sha256. Required in download mode (the install fails closed without it)."
  default     = ""
  validation {
    condition     = var.couchbase_package_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.couchbase_package_sha256))
    error_message = "The couchbase_package_sha256 must be 64 lowercase hex digits (or empty outside download mode)."
  }
}

variable "couchbase_release_url" {
  type        = string
  description = "URL of Couchbase's couchbase-release .deb (repository mode)."
  default     = "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb"
  validation {
    condition     = can(regex("^https://", var.couchbase_release_url))
    error_message = "The couchbase_release_url must be an https URL."
  }
}

variable "couchbase_release_sha256" {
  type        = string
  description = "Pinned sha256 of the couchbase-release .deb. Required in repository mode (the install fails closed without it)."
  default     = ""
  validation {
    condition     = var.couchbase_release_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.couchbase_release_sha256))
    error_message = "The couchbase_release_sha256 must be 64 lowercase hex digits (or empty for local package builds)."
  }
}

variable "couchbase_key_fingerprints" {
  type        = list(string)
  description = "Pinned fingerprints of the signing keys the couchbase-release .deb carries; they must match exactly. Required in repository mode."
  default     = []
  validation {
    condition     = alltrue([for f in var.couchbase_key_fingerprints : can(regex("^[0-9A-F]{40}$", f))])
    error_message = "Each couchbase_key_fingerprints entry must be a 40-digit uppercase hex fingerprint."
  }
}

### The dp-agent

variable "agent_artifact" {
  type        = string
  description = "Path of dp-agent.gz on the machine running Packer (agent/build.sh output)."
  validation {
    condition     = can(regex("\\.gz$", var.agent_artifact))
    error_message = "The agent_artifact must be the path of a .gz file (dp-agent.gz)."
  }
}

variable "agent_sha256" {
  type        = string
  description = "sha256 of dp-agent.gz; checked on the builder before installing."
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.agent_sha256))
    error_message = "The agent_sha256 must be 64 lowercase hex digits."
  }
}

variable "agent_unit" {
  type        = string
  description = "Path of dp-agent.service. Empty: agent/dp-agent.service of this repository."
  default     = ""
}

### The image

variable "image_name" {
  type        = string
  description = "Image name; must be unique in the region. Empty: couchbase-<edition>-<version>-<UTC timestamp>."
  default     = ""
  validation {
    condition     = var.image_name == "" || can(regex("^[a-zA-Z0-9()\\[\\] ./'@_-]{3,128}$", var.image_name))
    error_message = "The image_name must be 3-128 characters of letters, digits and ()[] ./'@_-."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for the image, its snapshots, the builder instance and its volumes (merged over Name)."
  default     = {}
}

variable "kms_key_id" {
  type        = string
  description = "KMS key (id, ARN or alias ARN) for the builder volume and the image's snapshots. Empty: the account's default EBS key."
  default     = ""
}

### Network and access

variable "vpc_id" {
  type        = string
  description = "VPC for the builder. Empty: the default VPC (or the subnet's)."
  default     = ""
  validation {
    condition     = var.vpc_id == "" || can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "The vpc_id must be empty or a VPC id (vpc-...)."
  }
}

variable "subnet_id" {
  type        = string
  description = "Subnet for the builder. Empty: chosen by EC2 in the VPC."
  default     = ""
  validation {
    condition     = var.subnet_id == "" || can(regex("^subnet-[0-9a-f]+$", var.subnet_id))
    error_message = "The subnet_id must be empty or a subnet id (subnet-...)."
  }
}

variable "associate_public_ip_address" {
  type        = bool
  description = "Give the builder a public IP even where its subnet maps none on launch. False: the subnet decides."
  default     = false
}

variable "ssh_interface" {
  type        = string
  description = "Builder address SSH goes to: public_ip, private_ip, public_dns or private_dns. Empty: the public IP if there is one, else the private IP."
  default     = ""
  validation {
    condition     = contains(["", "public_ip", "private_ip", "public_dns", "private_dns"], var.ssh_interface)
    error_message = "The ssh_interface must be empty, public_ip, private_ip, public_dns or private_dns."
  }
}

variable "ssh_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to SSH to the builder through its temporary security group. Empty: only the public IP of the machine running Packer. Never 0.0.0.0/0."
  default     = []
  validation {
    condition     = alltrue([for c in var.ssh_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "Each ssh_cidrs entry must be a CIDR and none may be 0.0.0.0/0 or ::/0."
  }
}

variable "ssh_username" {
  type        = string
  description = "SSH user of the base image (ubuntu on Ubuntu images; root in the local sandbox)."
  default     = "ubuntu"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]*$", var.ssh_username))
    error_message = "The ssh_username must be a user name."
  }
}

variable "temporary_key_pair_name" {
  type        = string
  description = "Name of Packer's temporary key pair (lets the janitor find it). Empty: Packer's default packer_<uuid>."
  default     = ""
}

### Local EC2 emulator (all off by default)

variable "ec2_endpoint" {
  type        = string
  description = "EC2 endpoint override, e.g. http://127.0.0.1:5000 for moto. Empty: AWS. (The provider also sets AWS_ENDPOINT_URL_EC2 in Packer's environment, for the plugin's clients that ignore this setting.)"
  default     = ""
  validation {
    condition     = var.ec2_endpoint == "" || can(regex("^https?://", var.ec2_endpoint))
    error_message = "The ec2_endpoint must be empty or an http(s) URL."
  }
}

variable "emulator" {
  type        = bool
  description = "True against a local EC2 emulator: skip credential (STS), region and metadata-API validation. Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
  default     = false
}

variable "ssh_host" {
  type        = string
  description = "Connect to this host instead of the instance's address (emulator sandbox). Empty: off."
  default     = ""
}

variable "ssh_port" {
  type        = number
  description = "SSH port override (emulator sandbox). 0: off (22)."
  default     = 0
  validation {
    condition     = var.ssh_port >= 0 && var.ssh_port <= 65535
    error_message = "The ssh_port must be 0 (off) or a TCP port."
  }
}

### Outputs

variable "manifest_path" {
  type        = string
  description = "Where the manifest post-processor writes the build's artifact (image id as region:ami-...). Use a fresh path per build: the file is appended to."
  default     = "packer-manifest.json"
  validation {
    condition     = length(var.manifest_path) > 0
    error_message = "The manifest_path must not be empty."
  }
}

locals {
  image_name = var.image_name != "" ? var.image_name : "couchbase-${var.couchbase_edition}-${var.couchbase_version}-${formatdate("YYYYMMDDhhmmss", timestamp())}"
  tags       = merge({ Name = local.image_name }, var.tags)
  agent_unit = var.agent_unit != "" ? var.agent_unit : "${path.root}/../../agent/dp-agent.service"

  # Uploads land here on the builder; cleanup.sh removes the folder.
  upload_dir    = "/tmp/image-build"
  local_package = !contains(["download", "repository"], var.couchbase_package_source)
  package_dir   = local.local_package ? var.couchbase_package_source : "${path.root}/files/no-local-packages"

  # Scripts run as root whether the SSH user is ubuntu (sudo) or root (sandbox: sudo is a no-op).
  # bash reads the script, so a noexec /tmp does not matter.
  execute_command = "sudo -S -H env {{ .Vars }} bash {{ .Path }}"

  couchbase_env = [
    "COUCHBASE_EDITION=${var.couchbase_edition}",
    "COUCHBASE_VERSION=${var.couchbase_version}",
  ]
}

source "amazon-ebs" "couchbase" {
  region        = var.region
  instance_type = var.instance_type

  source_ami = var.source_ami
  dynamic "source_ami_filter" {
    for_each = var.source_ami == "" ? [1] : []
    content {
      filters = {
        name                = var.source_ami_name_filter
        root-device-type    = "ebs"
        virtualization-type = "hvm"
      }
      owners      = var.source_ami_owners
      most_recent = true
    }
  }

  vpc_id    = var.vpc_id != "" ? var.vpc_id : null
  subnet_id = var.subnet_id != "" ? var.subnet_id : null
  # A custom subnet that maps no public IP: ask for one, or reach the private address from inside the VPC.
  associate_public_ip_address = var.associate_public_ip_address ? true : null
  ssh_interface               = var.ssh_interface != "" ? var.ssh_interface : null

  # The temporary security group admits SSH from the given CIDRs, else only from our own public IP.
  temporary_security_group_source_cidrs     = length(var.ssh_cidrs) > 0 ? var.ssh_cidrs : null
  temporary_security_group_source_public_ip = length(var.ssh_cidrs) == 0
  temporary_key_pair_name                   = var.temporary_key_pair_name != "" ? var.temporary_key_pair_name : null

  communicator = "ssh"
  ssh_username = var.ssh_username
  ssh_host     = var.ssh_host != "" ? var.ssh_host : null
  ssh_port     = var.ssh_port != 0 ? var.ssh_port : null
  ssh_timeout  = "10m"

  # Every wait of the plugin (instance running and stopped, image available, the encryption copy)
  # is bounded here, not by the caller's environment: without this block AWS_MAX_ATTEMPTS (a
  # common CI setting, passed through to Packer) cuts each wait to AWS_MAX_ATTEMPTS x 2 seconds.
  # Plugin 1.8.2 (docs "aws_polling"; common/state.go): these values win over AWS_MAX_ATTEMPTS and
  # AWS_POLL_DELAY_SECONDS; a wait gives up after max_attempts x delay_seconds, here 30 minutes
  # (twice the 7-15 minutes an image or its encrypted copy takes; the plugin's own default for the
  # image wait); it checks at once, then at least delay_seconds apart, backing off to at most the
  # SDK waiters' 120 s (a delay_seconds above 120 fails every wait).
  aws_polling {
    delay_seconds = 5
    max_attempts  = 360
  }

  # IMDSv2 only on the builder (no token-less metadata reads), and the image asks for it too.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"

  # Encrypted from the start: the builder's root volume is encrypted at launch (with kms_key_id when
  # given, else the account's default EBS key), so CreateImage makes an encrypted image directly.
  # Not encrypt_boot: that makes a temporary unencrypted image carrying the run tags and copies it
  # (5-15 minutes more, ec2:CopyImage in the build region); the plugin's own docs recommend this
  # instead (builder/common/ami_config.go, kms_key_id).
  launch_block_device_mappings {
    device_name           = var.root_device_name
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    delete_on_termination = true
    encrypted             = true
    kms_key_id            = var.kms_key_id != "" ? var.kms_key_id : null
  }

  ami_name        = local.image_name
  ami_description = "Couchbase Server ${var.couchbase_edition} ${var.couchbase_version} on Ubuntu, with dp-agent"

  tags            = local.tags
  snapshot_tags   = local.tags
  run_tags        = local.tags
  run_volume_tags = local.tags
  # On AWS the run tags also go on the image and its snapshot in CreateImage itself, so an image
  # left pending by an interrupted build is tagged (janitor-findable) from its first moment.
  # moto 5.2.5 answers CreateImage with snapshot TagSpecifications by HTTP 500, so the emulator
  # skips that (tags and snapshot_tags are still applied right after).
  skip_ami_run_tags = var.emulator

  # Local emulator: no STS, region list or instance metadata to ask.
  custom_endpoint_ec2        = var.ec2_endpoint != "" ? var.ec2_endpoint : null
  skip_credential_validation = var.emulator
  skip_region_validation     = var.emulator
  skip_metadata_api_check    = var.emulator
}

build {
  name    = "couchbase-cloud"
  sources = ["source.amazon-ebs.couchbase"]

  ### First boot: SSH is up before cloud-init has finished; wait for it before anything else runs.
  provisioner "shell" {
    script          = "${path.root}/scripts/wait-for-cloud-init.sh"
    execute_command = local.execute_command
  }

  ### Uploads
  provisioner "shell" {
    inline = ["install -d -m 0755 ${local.upload_dir}/agent ${local.upload_dir}/couchbase-packages"]
  }

  provisioner "file" {
    source      = var.agent_artifact
    destination = "${local.upload_dir}/agent/dp-agent.gz"
  }

  provisioner "file" {
    source      = local.agent_unit
    destination = "${local.upload_dir}/agent/dp-agent.service"
  }

  provisioner "file" {
    source      = "${local.package_dir}/"
    destination = "${local.upload_dir}/couchbase-packages"
  }

  ### Host tuning first, so the Couchbase install sees THP off and swappiness set.
  provisioner "shell" {
    script           = "${path.root}/scripts/tune-host.sh"
    execute_command  = local.execute_command
    environment_vars = ["ROOT=/"]
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/install-couchbase.sh"
    execute_command = local.execute_command
    environment_vars = concat(local.couchbase_env, [
      "ROOT=/",
      "COUCHBASE_PACKAGE_SOURCE=${local.local_package ? "${local.upload_dir}/couchbase-packages" : var.couchbase_package_source}",
      "COUCHBASE_PACKAGE_URL=${var.couchbase_package_url}",
      "COUCHBASE_PACKAGE_SHA256=${var.couchbase_package_sha256}",
      "COUCHBASE_RELEASE_URL=${var.couchbase_release_url}",
      "COUCHBASE_RELEASE_SHA256=${var.couchbase_release_sha256}",
      "COUCHBASE_KEY_FINGERPRINTS=${join(" ", var.couchbase_key_fingerprints)}",
    ])
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/install-agent.sh"
    execute_command = local.execute_command
    environment_vars = [
      "ROOT=/",
      "AGENT_ARTIFACT=${local.upload_dir}/agent/dp-agent.gz",
      "AGENT_SHA256=${var.agent_sha256}",
      "AGENT_UNIT=${local.upload_dir}/agent/dp-agent.service",
    ]
  }

  ### Clean, then prove it: validate is the last step and fails the build on any leftover.
  provisioner "shell" {
    script           = "${path.root}/scripts/cleanup.sh"
    execute_command  = local.execute_command
    environment_vars = ["ROOT=/"]
  }

  provisioner "shell" {
    script           = "${path.root}/scripts/validate.sh"
    execute_command  = local.execute_command
    environment_vars = concat(local.couchbase_env, ["ROOT=/"])
  }

  post-processor "manifest" {
    output     = var.manifest_path
    strip_path = true
    custom_data = {
      image_name        = local.image_name
      couchbase_edition = var.couchbase_edition
      couchbase_version = var.couchbase_version
      agent_sha256      = var.agent_sha256
      source_ami        = "${build.SourceAMI}"
    }
  }
}
