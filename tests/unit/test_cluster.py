"""The start-of-run warning for SLURM jobs that name no partition or account (workflow_scripts/planning/cluster.py);
tests/workflow/test_slurm.py sees it in a real submission."""

from workflow_scripts.planning.cluster import SLURM_PROFILE, slurm_warning, unset_slurm_settings


def test_rules_that_leave_a_setting_unset_are_named_once_each():
    jobs = [
        ("generate", {"slurm_partition": "gpu", "slurm_account": None}),
        ("generate", {"slurm_partition": "gpu", "slurm_account": ""}),
        ("train", {"slurm_partition": None, "slurm_account": None}),
        ("report", {"slurm_partition": "cpu", "slurm_account": "proj"}),
    ]
    assert unset_slurm_settings(jobs) == {"slurm_account": ["generate", "train"], "slurm_partition": ["train"]}
    warning = slurm_warning(unset_slurm_settings(jobs))
    assert "slurm_account is not set for 2 rule(s) (generate, train)" in warning
    assert "slurm_partition is not set for 1 rule(s) (train)" in warning and SLURM_PROFILE in warning


def test_no_warning_when_every_job_names_both():
    jobs = [("train", {"slurm_partition": "gpu", "slurm_account": "proj"})]
    assert unset_slurm_settings(jobs) == {} and slurm_warning({}) is None
