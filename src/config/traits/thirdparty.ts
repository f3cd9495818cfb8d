/**
 * Spawners from other packages. They are declared so that configuration files written for
 * them load (and typos in them are reported), but jhub cannot start servers with them yet.
 */
import type { ClassDef } from '../types.js';
import { any, bool, bytespec, dict, float, int, list, unicode } from './helpers.js';

export const SystemdSpawner: ClassDef = {
  name: 'SystemdSpawner',
  parent: 'Spawner',
  help: 'Runs each server as a transient systemd unit (package systemdspawner).',
  aliases: ['systemd', 'systemdspawner', 'systemdspawner.SystemdSpawner', 'systemdspawner.systemdspawner.SystemdSpawner'],
  unavailable: 'SystemdSpawner (systemd transient units) is not available yet in jhub; use LocalProcessSpawner',
  traits: [
    bool('dynamic_users', false, 'Let systemd allocate a throw-away user per server (DynamicUser=yes).'),
    unicode('default_shell', '/bin/bash', 'SHELL given to the server.'),
    unicode('unit_name_template', 'jupyter-{USERNAME}-singleuser', 'Name of the systemd unit ({USERNAME}, {USERID} are replaced).'),
    bool('isolate_tmp', false, 'Give each server a private /tmp.'),
    bool('isolate_devices', false, 'Give each server a minimal private /dev.'),
    bool('disable_user_sudo', false, 'Prevent privilege escalation from the server (NoNewPrivileges).'),
    list('readonly_paths', null, 'Paths mounted read-only for the server.', { allowNone: true, items: 'Unicode' }),
    list('readwrite_paths', null, 'Paths mounted writable for the server (with readonly_paths).', { allowNone: true, items: 'Unicode' }),
    bytespec('mem_limit', null, 'Memory limit of the unit.', { allowNone: true }),
    float('cpu_limit', null, 'CPU limit of the unit (cores).', { allowNone: true }),
    unicode('user_workingdir', null, 'Working directory of the server ({USERNAME} is replaced).', { allowNone: true }),
    dict('unit_extra_properties', {}, 'Extra systemd unit properties.'),
    list('extra_paths', [], 'Directories prepended to PATH.', { items: 'Unicode' }),
    unicode('username_template', '{USERNAME}', 'System user the server runs as.'),
    unicode('slice', null, 'systemd slice the unit runs in.', { allowNone: true }),
  ],
};

export const DockerSpawner: ClassDef = {
  name: 'DockerSpawner',
  parent: 'Spawner',
  help: 'Runs each server in a Docker container (package dockerspawner).',
  aliases: ['docker', 'dockerspawner', 'dockerspawner.DockerSpawner', 'dockerspawner.dockerspawner.DockerSpawner'],
  unavailable: 'DockerSpawner is not available yet in jhub; use LocalProcessSpawner',
  traits: [
    unicode('image', 'quay.io/jupyterhub/singleuser:latest', 'Container image of the servers.'),
    list('allowed_images', [], 'Images users may choose from.'),
    unicode('network_name', 'bridge', 'Docker network the containers join.'),
    bool('remove', false, 'Delete containers when they stop.'),
    any('volumes', {}, 'Volumes to mount: host path or volume name -> container path (or dict).'),
    any('read_only_volumes', {}, 'Volumes mounted read-only.'),
    dict('extra_create_kwargs', {}, 'Extra options for creating the container.'),
    dict('extra_host_config', {}, 'Extra host configuration of the container.'),
    bool('use_internal_ip', false, 'Reach the container by its address on the Docker network.'),
    unicode('notebook_dir', '', 'Root directory inside the container.'),
    unicode('pull_policy', 'ifnotpresent', "When to pull the image: 'ifnotpresent', 'always', 'never', 'skip'."),
    unicode('name_template', '{prefix}-{username}--{servername}', 'Container name pattern.'),
    unicode('prefix', 'jupyter', 'Prefix of container names.'),
    unicode('host_ip', '127.0.0.1', 'Host address that container ports are published on.'),
    bool('debug', false, 'Debug logging of the spawner.'),
    unicode('container_ip', '127.0.0.1', 'Old setting for the container address.'),
    bool('use_docker_client_env', true, 'Read Docker client settings from the environment.'),
  ],
};

export const SwarmSpawner: ClassDef = {
  name: 'SwarmSpawner',
  parent: 'DockerSpawner',
  help: 'Runs each server as a Docker Swarm service (package dockerspawner).',
  aliases: ['swarm', 'dockerspawner.SwarmSpawner', 'dockerspawner.swarmspawner.SwarmSpawner'],
  unavailable: 'SwarmSpawner is not available yet in jhub; use LocalProcessSpawner',
  traits: [
    list('extra_placement_spec', [], 'Placement constraints of the service.'),
    dict('extra_resources_spec', {}, 'Resource settings of the service.'),
    dict('extra_container_spec', {}, 'Extra container settings of the service.'),
    dict('extra_task_spec', {}, 'Extra task settings of the service.'),
  ],
};

export const KubeSpawner: ClassDef = {
  name: 'KubeSpawner',
  parent: 'Spawner',
  help: 'Runs each server in a Kubernetes pod (package kubespawner).',
  aliases: ['kubernetes', 'kubespawner', 'kubespawner.KubeSpawner', 'kubespawner.spawner.KubeSpawner'],
  unavailable: 'KubeSpawner (Kubernetes pods) is not available yet in jhub; use LocalProcessSpawner',
  traits: [
    unicode('image', 'quay.io/jupyterhub/singleuser:latest', 'Container image of the pods.'),
    unicode('image_pull_policy', 'IfNotPresent', 'Image pull policy.'),
    unicode('namespace', 'default', 'Namespace the pods are created in.'),
    unicode('service_account', null, 'Service account of the pods.', { allowNone: true }),
    unicode('storage_capacity', null, 'Size of each user volume claim.', { allowNone: true }),
    unicode('storage_class', null, 'Storage class of user volume claims.', { allowNone: true }),
    unicode('pvc_name_template', 'claim-{username}--{servername}', 'Name pattern of volume claims.'),
    list('volumes', [], 'Volumes of the pods.'),
    list('volume_mounts', [], 'Volume mounts of the server container.'),
    dict('extra_labels', {}, 'Extra pod labels.'),
    dict('node_selector', {}, 'Node selector of the pods.'),
    any('profile_list', [], 'Profiles users can choose from (list or function).'),
    any('uid', null, 'User id the server runs as.', { allowNone: true }),
    any('fs_gid', null, 'Group id owning the volumes.', { allowNone: true }),
    float('start_timeout', 60, 'Seconds allowed for the pod to start.'),
  ],
};

const batchTraits = [
  unicode('batch_script', '', 'Template of the job script submitted to the batch system.'),
  unicode('batch_submit_cmd', '', 'Command submitting a job.'),
  unicode('batch_query_cmd', '', 'Command querying a job.'),
  unicode('batch_cancel_cmd', '', 'Command cancelling a job.'),
  unicode('exec_prefix', 'sudo -E -u {username}', 'Prefix of batch commands (to run them as the user).'),
  unicode('req_partition', '', 'Partition to submit to.'),
  unicode('req_queue', '', 'Queue to submit to.'),
  unicode('req_runtime', '', 'Requested wall time.'),
  unicode('req_memory', '', 'Requested memory.'),
  unicode('req_nprocs', '', 'Requested number of processors.'),
  unicode('req_ngpus', '', 'Requested number of GPUs.'),
  unicode('req_host', '', 'Requested host.'),
  unicode('req_account', '', 'Account to charge.'),
  unicode('req_options', '', 'Other options for the job.'),
  unicode('req_prologue', '', 'Script lines run before the server.'),
  unicode('req_epilogue', '', 'Script lines run after the server.'),
  unicode('req_srun', 'srun', 'Launcher prefix of the server command.'),
  float('startup_poll_interval', 0.5, 'Seconds between job state checks while starting.'),
];

export const BatchSpawnerBase: ClassDef = {
  name: 'BatchSpawnerBase',
  parent: 'Spawner',
  help: 'Runs each server as a job of a batch system (package batchspawner).',
  aliases: ['batchspawner.BatchSpawnerBase'],
  unavailable: 'batch system spawners (batchspawner) are not available yet in jhub; use LocalProcessSpawner',
  traits: batchTraits,
};

function batch(name: string, system: string): ClassDef {
  return {
    name,
    parent: 'BatchSpawnerBase',
    help: `Runs each server as a ${system} job (package batchspawner).`,
    aliases: [`batchspawner.${name}`],
    unavailable: `${name} (${system} batch jobs) is not available yet in jhub; use LocalProcessSpawner`,
    traits: [],
  };
}

export const batchClasses: ClassDef[] = [
  batch('SlurmSpawner', 'Slurm'),
  batch('TorqueSpawner', 'Torque'),
  batch('MoabSpawner', 'Moab'),
  batch('PBSSpawner', 'PBS'),
  batch('GridengineSpawner', 'Grid Engine'),
  batch('CondorSpawner', 'HTCondor'),
  batch('LsfSpawner', 'LSF'),
];

export const WrapSpawner: ClassDef = {
  name: 'WrapSpawner',
  parent: 'Spawner',
  help: 'Delegates to another spawner chosen at start time (package wrapspawner).',
  aliases: ['wrapspawner.WrapSpawner'],
  unavailable: 'WrapSpawner is not available yet in jhub',
  traits: [any('child_class', null, 'Spawner class to wrap.', { allowNone: true }), dict('child_config', {}, 'Settings for the wrapped spawner.')],
};

export const ProfilesSpawner: ClassDef = {
  name: 'ProfilesSpawner',
  parent: 'WrapSpawner',
  help: 'Lets users pick a spawner profile from a list (package wrapspawner).',
  aliases: ['wrapspawner.ProfilesSpawner'],
  unavailable: 'ProfilesSpawner is not available yet in jhub',
  traits: [list('profiles', [], 'List of (display name, key, spawner class, settings) tuples.')],
};
